// Engine-independent import decisions, shared by the Unreal plugin and the Godot addon.
//
// Every choice an engine plugin makes about a received file is made here, from the file's typed
// header (semantic, colour space, format, normal convention, packing), never from its name:
//   - which material slot the file feeds (base colour, normal, ORM, ...),
//   - how to import it: sRGB on/off, compression class, whether the engine must flip the normal
//     map's green channel (the file's convention differs from the engine's),
//   - engine spellings: Unreal TextureCompressionSettings / LOD group names, the Godot texture
//     importer's [params] and the whole `.import` file,
//   - material parameter names (Unreal parent material, Godot ORMMaterial3D / StandardMaterial3D).
// The plugins only translate these values into engine API calls; tests/test_engine_import.cpp
// checks every decision.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "intrinsix/types.h"

namespace intrinsix {

enum class Engine { kUnreal, kGodot };

// "unreal" / "godot".
const char* to_string(Engine engine);
// The export profile whose files an engine uses directly: kUnreal -> ExportProfile::kUnreal, ...
ExportProfile default_profile(Engine engine);
// Normal-map convention the engine's shaders expect: Unreal DirectX (+Y down), Godot OpenGL.
NormalConvention engine_normal_convention(Engine engine);

// The material input a file feeds.
enum class TextureSlot {
  kNone,                // not a texture (manifest, glTF model)
  kBaseColor,
  kNormal,
  kOrm,                 // packed occlusion / roughness / metallic
  kRoughness,
  kMetallic,
  kAmbientOcclusion,
  kHeight,
  kMetallicSmoothness,  // Unity packing
  kMaterial,            // the generator's raw material image (R roughness, G metallic)
  kPreview,             // a relit preview image: importable, never bound to a material
};
const char* to_string(TextureSlot slot);  // "base_color", "normal", "orm", ...
TextureSlot texture_slot(TextureSemantic semantic);

// Engine-neutral compression classes; the engines' names are below.
enum class CompressionClass {
  kNotATexture,
  kColor,         // sRGB colour (BC1/BC7-like)
  kNormalMap,     // two-channel normal compression (BC5), sRGB off
  kMasks,         // several linear data channels (ORM), sRGB off
  kGrayscale,     // one linear channel, precision of the source kept (8 or 16 bits)
  kHdr,           // floating-point data (EXR): kept as half/float, never block-compressed to 8 bits
};
const char* to_string(CompressionClass compression);

// What each channel of a packed file holds, from TextureFileInfo::packing
// ("R=ambient_occlusion,G=roughness,B=metallic"). An EXR grey channel named Y counts as channel 0.
struct ChannelMap {
  std::string channel[4];  // quantity in R, G, B, A; empty = not stated / unused
  // 0..3 for the channel holding `quantity`, -1 if none does.
  int channel_of(const std::string& quantity) const;
  bool empty() const;
};
// Parse a packing string. The empty string gives an empty map. Errors (kInvalidArgument) name the
// bad entry: unknown channel letter (allowed R, G, B, A, Y), a channel named twice, a missing '='
// or an empty quantity.
Result<ChannelMap> parse_packing(const std::string& packing);

struct TextureImportSettings {
  TextureSlot slot = TextureSlot::kNone;
  bool is_texture = false;   // false: not imported as a texture (manifest, model)
  bool srgb = false;         // decode sRGB when sampling: only sRGB-encoded colour (base colour, preview)
  CompressionClass compression = CompressionClass::kNotATexture;
  bool normal_map = false;
  // The engine must flip the green channel on import: the file's normal convention is not the
  // engine's (an OpenGL normal map in Unreal, a DirectX one in Godot). False when the server
  // already exported it in the engine's convention (the engine's default profile).
  bool flip_green = false;
  bool high_precision = false;  // 16-bit or float source whose precision matters (height)
  bool mipmaps = false;
  ChannelMap channels;
};
// Import settings of one received file for `engine`. kInvalidArgument for a malformed packing or
// a normal map without a normal convention.
Result<TextureImportSettings> import_settings(Engine engine, const TextureFileInfo& file);

// ---- Unreal spellings ---------------------------------------------------------------------------

// TextureCompressionSettings enumerator name: "TC_Default", "TC_Normalmap", "TC_Masks",
// "TC_Grayscale", "TC_HDR"; "" for kNotATexture.
const char* unreal_compression_name(CompressionClass compression);
// TextureGroup enumerator name: "TEXTUREGROUP_World", "TEXTUREGROUP_WorldNormalMap",
// "TEXTUREGROUP_WorldSpecular" (masks / data), "" for kNone.
const char* unreal_lod_group_name(TextureSlot slot);
// Asset name for a file: its name without the extension, characters other than letters, digits,
// '_' and '-' replaced by '_' ("T_RedBrick_BC.png" -> "T_RedBrick_BC").
std::string unreal_asset_name(const std::string& file_name);
// Material instance asset name: "MI_<material_name>".
std::string unreal_material_instance_name(const std::string& material_name);
// Parent material the plugin creates when the project lacks it, and its parameters.
constexpr const char* kUnrealParentMaterialName = "M_IntrinsiX_PBR";
constexpr const char* kUnrealBaseColorParameter = "BaseColor";  // sampler type Color (sRGB)
constexpr const char* kUnrealNormalParameter = "Normal";        // sampler type Normal
constexpr const char* kUnrealOrmParameter = "ORM";              // sampler type Masks: R AO, G roughness, B metallic

// ---- Godot spellings ----------------------------------------------------------------------------

// The texture importer's [params] for this file, in the order they are written, e.g.
// {"compress/mode", "2"}, {"compress/normal_map", "1"}, {"process/normal_map_invert_y", "false"}.
// Empty for files that are not textures. Keys Godot does not see keep their defaults.
Result<std::vector<std::pair<std::string, std::string>>> godot_import_params(const TextureFileInfo& file);
// Complete text of the `<file>.import` written next to the file before Godot scans it, so the
// first import already uses these settings. Empty for files that are not textures (the manifest
// and glTF files are left to Godot's own importers).
Result<std::string> godot_import_file(const TextureFileInfo& file);
// Resource file name of the material: "<material_name>_material.tres".
std::string godot_material_file_name(const std::string& material_name);

// ---- material parameters ------------------------------------------------------------------------

// One texture parameter of the material to set.
struct MaterialBinding {
  TextureSlot slot = TextureSlot::kNone;
  std::string file_name;  // the received file to bind
  std::string parameter;  // Unreal texture parameter / Godot material property holding the texture
  std::string enable_property;   // Godot: bool property that must be true ("normal_enabled"); "" if none
  std::string channel_property;  // Godot: property choosing the channel ("roughness_texture_channel"); "" if none
  int channel = -1;              // value for channel_property: 0 R, 1 G, 2 B, 3 A; -1 if none
};

struct MaterialPlan {
  // Unreal: kUnrealParentMaterialName. Godot: "ORMMaterial3D" when the set has an ORM texture,
  // else "StandardMaterial3D".
  std::string material_class;
  std::vector<MaterialBinding> bindings;  // in slot order: base colour, normal, ORM/masks, height
  // Other material properties to set, e.g. Godot StandardMaterial3D "metallic" = 1 (its shader
  // multiplies the metallic texture by this scalar, whose default is 0).
  std::vector<std::pair<std::string, float>> scalars;
};

// How to build the material from the received files. The height map is included for Godot only if
// `use_height` (parallax needs a per-material depth scale, so it is opt-in); Unreal's parent
// material has no height input. kInvalidArgument if an ORM file's packing is not
// "R=ambient_occlusion,G=roughness,B=metallic" (both engines' ORM inputs read that layout) or if
// two files claim the same slot; kNotFound if the set has no base colour.
Result<MaterialPlan> material_plan(Engine engine, const std::vector<TextureFileInfo>& files,
                                   bool use_height = false);

}  // namespace intrinsix
