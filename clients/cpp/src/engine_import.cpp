// Engine-independent import decisions (see include/intrinsix/engine_import.h).
#include "intrinsix/engine_import.h"

#include <cctype>
#include <set>
#include <sstream>

namespace intrinsix {
namespace {

// The packing both engines' ORM inputs read (Unreal's parent material wires R/G/B this way and
// Godot's ORMMaterial3D shader reads AO = r, ROUGHNESS = g, METALLIC = b).
constexpr const char* kOrmPacking = "R=ambient_occlusion,G=roughness,B=metallic";

Error invalid(const std::string& message) { return Error{StatusCode::kInvalidArgument, message}; }

bool is_float_format(FileFormat format) {
  return format == FileFormat::kExrHalf || format == FileFormat::kExrFloat;
}

bool is_image_format(FileFormat format) {
  return format == FileFormat::kPng8 || format == FileFormat::kPng16 || is_float_format(format);
}

}  // namespace

const char* to_string(Engine engine) { return engine == Engine::kUnreal ? "unreal" : "godot"; }

ExportProfile default_profile(Engine engine) {
  return engine == Engine::kUnreal ? ExportProfile::kUnreal : ExportProfile::kGodot;
}

NormalConvention engine_normal_convention(Engine engine) {
  return engine == Engine::kUnreal ? NormalConvention::kDirectX : NormalConvention::kOpenGl;
}

const char* to_string(TextureSlot slot) {
  switch (slot) {
    case TextureSlot::kNone: return "none";
    case TextureSlot::kBaseColor: return "base_color";
    case TextureSlot::kNormal: return "normal";
    case TextureSlot::kOrm: return "orm";
    case TextureSlot::kRoughness: return "roughness";
    case TextureSlot::kMetallic: return "metallic";
    case TextureSlot::kAmbientOcclusion: return "ambient_occlusion";
    case TextureSlot::kHeight: return "height";
    case TextureSlot::kMetallicSmoothness: return "metallic_smoothness";
    case TextureSlot::kMaterial: return "material";
    case TextureSlot::kPreview: return "preview";
  }
  return "none";
}

TextureSlot texture_slot(TextureSemantic semantic) {
  switch (semantic) {
    case TextureSemantic::kBaseColor: return TextureSlot::kBaseColor;
    case TextureSemantic::kRoughness: return TextureSlot::kRoughness;
    case TextureSemantic::kMetallic: return TextureSlot::kMetallic;
    case TextureSemantic::kNormal: return TextureSlot::kNormal;
    case TextureSemantic::kHeight: return TextureSlot::kHeight;
    case TextureSemantic::kAmbientOcclusion: return TextureSlot::kAmbientOcclusion;
    case TextureSemantic::kOrm: return TextureSlot::kOrm;
    case TextureSemantic::kMetallicSmoothness: return TextureSlot::kMetallicSmoothness;
    case TextureSemantic::kMaterial: return TextureSlot::kMaterial;
    case TextureSemantic::kPreview: return TextureSlot::kPreview;
    case TextureSemantic::kModel:
    case TextureSemantic::kManifest:
    case TextureSemantic::kUnspecified: return TextureSlot::kNone;
  }
  return TextureSlot::kNone;
}

const char* to_string(CompressionClass compression) {
  switch (compression) {
    case CompressionClass::kNotATexture: return "not_a_texture";
    case CompressionClass::kColor: return "color";
    case CompressionClass::kNormalMap: return "normal_map";
    case CompressionClass::kMasks: return "masks";
    case CompressionClass::kGrayscale: return "grayscale";
    case CompressionClass::kHdr: return "hdr";
  }
  return "not_a_texture";
}

// ---- packing ------------------------------------------------------------------------------------

int ChannelMap::channel_of(const std::string& quantity) const {
  for (int i = 0; i < 4; ++i) {
    if (channel[i] == quantity) return i;
  }
  return -1;
}

bool ChannelMap::empty() const {
  return channel[0].empty() && channel[1].empty() && channel[2].empty() && channel[3].empty();
}

Result<ChannelMap> parse_packing(const std::string& packing) {
  Result<ChannelMap> result;
  if (packing.empty()) return result;
  std::stringstream entries(packing);
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    const size_t equals = entry.find('=');
    if (equals == std::string::npos || equals + 1 >= entry.size()) {
      result.error = invalid("packing " + packing + ": entry '" + entry +
                             "' must be <channel>=<quantity>, e.g. R=roughness");
      return result;
    }
    const std::string letter = entry.substr(0, equals);
    int index = -1;
    if (letter == "R" || letter == "Y") index = 0;  // an EXR grey channel is named Y
    else if (letter == "G") index = 1;
    else if (letter == "B") index = 2;
    else if (letter == "A") index = 3;
    if (index < 0) {
      result.error = invalid("packing " + packing + ": channel '" + letter +
                             "' is not one of R, G, B, A, Y");
      return result;
    }
    if (!result.value.channel[index].empty()) {
      result.error = invalid("packing " + packing + ": channel '" + letter + "' is named twice");
      return result;
    }
    result.value.channel[index] = entry.substr(equals + 1);
  }
  return result;
}

// ---- import settings ----------------------------------------------------------------------------

Result<TextureImportSettings> import_settings(Engine engine, const TextureFileInfo& file) {
  Result<TextureImportSettings> result;
  TextureImportSettings& settings = result.value;
  settings.slot = texture_slot(file.semantic);
  if (settings.slot == TextureSlot::kNone || !is_image_format(file.format)) {
    settings.slot = TextureSlot::kNone;
    return result;  // manifest, glTF model: not a texture
  }
  Result<ChannelMap> channels = parse_packing(file.packing);
  if (!channels.ok()) {
    result.error = invalid("file " + file.name + ": " + channels.error.message);
    return result;
  }
  settings.channels = channels.value;
  settings.is_texture = true;
  settings.mipmaps = true;
  // Only sRGB-encoded colour is decoded when sampling; every other map holds linear data.
  settings.srgb = file.color_space == ColorSpace::kSrgb;
  settings.high_precision = file.format == FileFormat::kPng16 || is_float_format(file.format);

  switch (settings.slot) {
    case TextureSlot::kBaseColor:
    case TextureSlot::kPreview:
      settings.compression = settings.srgb ? CompressionClass::kColor
                             : is_float_format(file.format) ? CompressionClass::kHdr
                                                            : CompressionClass::kColor;
      break;
    case TextureSlot::kNormal:
      if (file.normal_convention == NormalConvention::kUnspecified) {
        result.error = invalid("file " + file.name +
                               ": a normal map must state its normal convention (opengl or directx)");
        return result;
      }
      settings.normal_map = true;
      settings.srgb = false;  // normals are vectors, never colour
      settings.compression = CompressionClass::kNormalMap;
      settings.flip_green = file.normal_convention != engine_normal_convention(engine);
      break;
    case TextureSlot::kOrm:
    case TextureSlot::kMetallicSmoothness:
    case TextureSlot::kMaterial:
      settings.srgb = false;
      settings.compression = is_float_format(file.format) ? CompressionClass::kHdr : CompressionClass::kMasks;
      break;
    case TextureSlot::kRoughness:
    case TextureSlot::kMetallic:
    case TextureSlot::kAmbientOcclusion:
    case TextureSlot::kHeight:
      settings.srgb = false;
      settings.compression = is_float_format(file.format) ? CompressionClass::kHdr : CompressionClass::kGrayscale;
      break;
    case TextureSlot::kNone:
      break;
  }
  return result;
}

// ---- Unreal -------------------------------------------------------------------------------------

const char* unreal_compression_name(CompressionClass compression) {
  switch (compression) {
    case CompressionClass::kNotATexture: return "";
    case CompressionClass::kColor: return "TC_Default";
    case CompressionClass::kNormalMap: return "TC_Normalmap";
    case CompressionClass::kMasks: return "TC_Masks";
    // G8, or G16 when the source is 16-bit (the 16-bit height PNG keeps its precision).
    case CompressionClass::kGrayscale: return "TC_Grayscale";
    case CompressionClass::kHdr: return "TC_HDR";
  }
  return "";
}

const char* unreal_lod_group_name(TextureSlot slot) {
  switch (slot) {
    case TextureSlot::kNone: return "";
    case TextureSlot::kNormal: return "TEXTUREGROUP_WorldNormalMap";
    case TextureSlot::kOrm:
    case TextureSlot::kRoughness:
    case TextureSlot::kMetallic:
    case TextureSlot::kAmbientOcclusion:
    case TextureSlot::kMetallicSmoothness:
    case TextureSlot::kMaterial: return "TEXTUREGROUP_WorldSpecular";
    case TextureSlot::kBaseColor:
    case TextureSlot::kHeight:
    case TextureSlot::kPreview: return "TEXTUREGROUP_World";
  }
  return "";
}

std::string unreal_asset_name(const std::string& file_name) {
  const size_t dot = file_name.rfind('.');
  std::string stem = dot == std::string::npos || dot == 0 ? file_name : file_name.substr(0, dot);
  for (char& c : stem) {
    const bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    if (!allowed) c = '_';
  }
  return stem;
}

std::string unreal_material_instance_name(const std::string& material_name) {
  return "MI_" + unreal_asset_name(material_name);
}

// ---- Godot --------------------------------------------------------------------------------------

Result<std::vector<std::pair<std::string, std::string>>> godot_import_params(const TextureFileInfo& file) {
  Result<std::vector<std::pair<std::string, std::string>>> result;
  Result<TextureImportSettings> settings = import_settings(Engine::kGodot, file);
  if (!settings.ok()) {
    result.error = settings.error;
    return result;
  }
  const TextureImportSettings& s = settings.value;
  if (!s.is_texture) return result;
  auto& params = result.value;
  // compress/mode: 0 Lossless, 1 Lossy, 2 VRAM Compressed, 3 VRAM Uncompressed, 4 Basis Universal.
  // Float data (EXR height) stays uncompressed: VRAM compression would quantise it.
  const char* mode = s.compression == CompressionClass::kHdr ? "3" : "2";
  params.emplace_back("compress/mode", mode);
  params.emplace_back("compress/high_quality", "false");
  // compress/normal_map: 0 Detect, 1 Enable, 2 Disabled. Stating it keeps Godot from guessing.
  params.emplace_back("compress/normal_map", s.normal_map ? "1" : "2");
  // Data maps pack independent channels: "Optimized" (1) lets the compressor treat them so;
  // colour keeps "sRGB Friendly" (0).
  params.emplace_back("compress/channel_pack", s.srgb ? "0" : "1");
  params.emplace_back("mipmaps/generate", s.mipmaps ? "true" : "false");
  params.emplace_back("process/normal_map_invert_y", s.flip_green ? "true" : "false");
  // Float files hold linear data: never treat them as sRGB HDR colour.
  params.emplace_back("process/hdr_as_srgb", "false");
  params.emplace_back("process/size_limit", "0");
  // The mode above is final: no automatic switch when the texture is first used in 3D.
  params.emplace_back("detect_3d/compress_to", "0");
  return result;
}

Result<std::string> godot_import_file(const TextureFileInfo& file) {
  Result<std::string> result;
  auto params = godot_import_params(file);
  if (!params.ok()) {
    result.error = params.error;
    return result;
  }
  if (params.value.empty()) return result;
  // Godot completes [remap] (uid, path) and [deps] when it imports the file; it keeps [params].
  std::string text = "[remap]\n\nimporter=\"texture\"\ntype=\"CompressedTexture2D\"\n\n[params]\n\n";
  for (const auto& [key, value] : params.value) text += key + "=" + value + "\n";
  result.value = std::move(text);
  return result;
}

std::string godot_material_file_name(const std::string& material_name) {
  return unreal_asset_name(material_name) + "_material.tres";
}

// ---- material plan ------------------------------------------------------------------------------

Result<MaterialPlan> material_plan(Engine engine, const std::vector<TextureFileInfo>& files, bool use_height) {
  Result<MaterialPlan> result;
  std::set<TextureSlot> seen;
  const TextureFileInfo* by_slot[16] = {};
  for (const TextureFileInfo& file : files) {
    Result<TextureImportSettings> settings = import_settings(engine, file);
    if (!settings.ok()) {
      result.error = settings.error;
      return result;
    }
    const TextureSlot slot = settings.value.slot;
    if (slot == TextureSlot::kNone || slot == TextureSlot::kPreview) continue;
    if (!seen.insert(slot).second) {
      result.error = invalid(std::string("files ") + by_slot[int(slot)]->name + " and " + file.name +
                             " both hold the " + to_string(slot) + " map");
      return result;
    }
    by_slot[int(slot)] = &file;
    if (slot == TextureSlot::kOrm && file.packing != kOrmPacking) {
      result.error = invalid("file " + file.name + ": ORM packing '" + file.packing + "' is not the layout " +
                             to_string(engine) + " reads (" + kOrmPacking + ")");
      return result;
    }
  }
  const TextureFileInfo* base = by_slot[int(TextureSlot::kBaseColor)];
  if (base == nullptr) {
    result.error = Error{StatusCode::kNotFound, "the result has no base colour map to build a material from"};
    return result;
  }
  MaterialPlan& plan = result.value;
  auto bind = [&plan](TextureSlot slot, const TextureFileInfo* file, const char* parameter,
                      const char* enable = "", const char* channel_property = "", int channel = -1) {
    if (file == nullptr) return;
    plan.bindings.push_back(MaterialBinding{slot, file->name, parameter, enable, channel_property, channel});
  };
  const TextureFileInfo* normal = by_slot[int(TextureSlot::kNormal)];
  const TextureFileInfo* orm = by_slot[int(TextureSlot::kOrm)];

  if (engine == Engine::kUnreal) {
    plan.material_class = kUnrealParentMaterialName;
    bind(TextureSlot::kBaseColor, base, kUnrealBaseColorParameter);
    bind(TextureSlot::kNormal, normal, kUnrealNormalParameter);
    bind(TextureSlot::kOrm, orm, kUnrealOrmParameter);
    return result;
  }

  bind(TextureSlot::kBaseColor, base, "albedo_texture");
  bind(TextureSlot::kNormal, normal, "normal_texture", "normal_enabled");
  if (orm != nullptr) {
    plan.material_class = "ORMMaterial3D";
    // The ORM shader reads AO from R only when ambient occlusion is enabled.
    bind(TextureSlot::kOrm, orm, "orm_texture", "ao_enabled");
  } else {
    // Separate maps (raw / unity profiles): StandardMaterial3D reads one channel of each texture,
    // chosen by its *_texture_channel property (0 R, 1 G, 2 B, 3 A). Single-channel files use R.
    plan.material_class = "StandardMaterial3D";
    auto channel_for = [](const TextureFileInfo* file, const char* quantity) {
      const Result<ChannelMap> map = parse_packing(file->packing);
      const int channel = map.value.channel_of(quantity);
      return channel < 0 ? 0 : channel;
    };
    if (const TextureFileInfo* f = by_slot[int(TextureSlot::kRoughness)]) {
      bind(TextureSlot::kRoughness, f, "roughness_texture", "", "roughness_texture_channel",
           channel_for(f, "roughness"));
    }
    if (const TextureFileInfo* f = by_slot[int(TextureSlot::kMetallic)]) {
      bind(TextureSlot::kMetallic, f, "metallic_texture", "", "metallic_texture_channel", channel_for(f, "metallic"));
      plan.scalars.emplace_back("metallic", 1.0f);
    } else if (const TextureFileInfo* f = by_slot[int(TextureSlot::kMetallicSmoothness)]) {
      bind(TextureSlot::kMetallicSmoothness, f, "metallic_texture", "", "metallic_texture_channel",
           channel_for(f, "metallic"));
      plan.scalars.emplace_back("metallic", 1.0f);
    }
    if (const TextureFileInfo* f = by_slot[int(TextureSlot::kAmbientOcclusion)]) {
      bind(TextureSlot::kAmbientOcclusion, f, "ao_texture", "ao_enabled", "ao_texture_channel",
           channel_for(f, "ambient_occlusion"));
    }
  }
  if (use_height) {
    bind(TextureSlot::kHeight, by_slot[int(TextureSlot::kHeight)], "heightmap_texture", "heightmap_enabled");
  }
  return result;
}

}  // namespace intrinsix
