// The engine-independent import decisions: slots, sRGB, compression, green flip, Godot .import
// params and material bindings, for the files each server profile produces (docs/pbr.md).
#include <gtest/gtest.h>

#include <map>

#include "intrinsix/engine_import.h"

namespace intrinsix {
namespace {

TextureFileInfo file(const std::string& name, TextureSemantic semantic, ColorSpace space, FileFormat format,
                     uint32_t channels, NormalConvention normal = NormalConvention::kUnspecified,
                     const std::string& packing = "") {
  TextureFileInfo info;
  info.name = name;
  info.semantic = semantic;
  info.color_space = space;
  info.format = format;
  info.width = info.height = format == FileFormat::kJson || format == FileFormat::kGlb ? 0 : 64;
  info.channels = channels;
  info.normal_convention = normal;
  info.packing = packing;
  return info;
}

const std::string kOrm = "R=ambient_occlusion,G=roughness,B=metallic";
const std::string kNormalPacking = "R=normal_x,G=normal_y,B=normal_z";

// The files of the "unreal" and "godot" profiles, as the server's headers describe them.
std::vector<TextureFileInfo> unreal_profile() {
  return {file("T_Brick_BC.png", TextureSemantic::kBaseColor, ColorSpace::kSrgb, FileFormat::kPng8, 3),
          file("T_Brick_N.png", TextureSemantic::kNormal, ColorSpace::kLinear, FileFormat::kPng8, 3,
               NormalConvention::kDirectX, kNormalPacking),
          file("T_Brick_ORM.png", TextureSemantic::kOrm, ColorSpace::kLinear, FileFormat::kPng8, 3,
               NormalConvention::kUnspecified, kOrm),
          file("T_Brick_H.png", TextureSemantic::kHeight, ColorSpace::kLinear, FileFormat::kPng16, 1),
          file("material.json", TextureSemantic::kManifest, ColorSpace::kNone, FileFormat::kJson, 0)};
}

std::vector<TextureFileInfo> godot_profile() {
  return {file("Brick_albedo.png", TextureSemantic::kBaseColor, ColorSpace::kSrgb, FileFormat::kPng8, 3),
          file("Brick_normal.png", TextureSemantic::kNormal, ColorSpace::kLinear, FileFormat::kPng8, 3,
               NormalConvention::kOpenGl, kNormalPacking),
          file("Brick_orm.png", TextureSemantic::kOrm, ColorSpace::kLinear, FileFormat::kPng8, 3,
               NormalConvention::kUnspecified, kOrm),
          file("Brick_height.exr", TextureSemantic::kHeight, ColorSpace::kLinear, FileFormat::kExrFloat, 1,
               NormalConvention::kUnspecified, "R=height"),
          file("material.json", TextureSemantic::kManifest, ColorSpace::kNone, FileFormat::kJson, 0)};
}

TextureImportSettings settings(Engine engine, const TextureFileInfo& info) {
  auto result = import_settings(engine, info);
  EXPECT_TRUE(result.ok()) << result.error.to_string();
  return result.value;
}

std::map<std::string, std::string> godot_params(const TextureFileInfo& info) {
  auto result = godot_import_params(info);
  EXPECT_TRUE(result.ok()) << result.error.to_string();
  return {result.value.begin(), result.value.end()};
}

TEST(Packing, Parses) {
  auto orm = parse_packing(kOrm);
  ASSERT_TRUE(orm.ok());
  EXPECT_EQ(orm.value.channel_of("ambient_occlusion"), 0);
  EXPECT_EQ(orm.value.channel_of("roughness"), 1);
  EXPECT_EQ(orm.value.channel_of("metallic"), 2);
  EXPECT_EQ(orm.value.channel_of("height"), -1);
  auto unity = parse_packing("R=metallic,G=ambient_occlusion,B=one,A=smoothness");
  ASSERT_TRUE(unity.ok());
  EXPECT_EQ(unity.value.channel_of("smoothness"), 3);
  auto grey = parse_packing("Y=height");
  ASSERT_TRUE(grey.ok());
  EXPECT_EQ(grey.value.channel_of("height"), 0);
  EXPECT_TRUE(parse_packing("").value.empty());
}

TEST(Packing, RefusesMalformed) {
  for (const char* bad : {"Q=roughness", "R=a,R=b", "R", "R=", "roughness", "R=a,,G=b", "Y=a,R=b"}) {
    auto result = parse_packing(bad);
    EXPECT_EQ(result.error.code, StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(result.error.message.find(bad), std::string::npos) << result.error.message;
  }
}

TEST(Slots, FromSemantics) {
  EXPECT_EQ(texture_slot(TextureSemantic::kBaseColor), TextureSlot::kBaseColor);
  EXPECT_EQ(texture_slot(TextureSemantic::kNormal), TextureSlot::kNormal);
  EXPECT_EQ(texture_slot(TextureSemantic::kOrm), TextureSlot::kOrm);
  EXPECT_EQ(texture_slot(TextureSemantic::kMetallicSmoothness), TextureSlot::kMetallicSmoothness);
  EXPECT_EQ(texture_slot(TextureSemantic::kManifest), TextureSlot::kNone);
  EXPECT_EQ(texture_slot(TextureSemantic::kModel), TextureSlot::kNone);
}

TEST(UnrealImport, UnrealProfile) {
  const auto files = unreal_profile();
  const auto bc = settings(Engine::kUnreal, files[0]);
  EXPECT_TRUE(bc.is_texture);
  EXPECT_EQ(bc.slot, TextureSlot::kBaseColor);
  EXPECT_TRUE(bc.srgb);
  EXPECT_STREQ(unreal_compression_name(bc.compression), "TC_Default");
  EXPECT_STREQ(unreal_lod_group_name(bc.slot), "TEXTUREGROUP_World");

  const auto n = settings(Engine::kUnreal, files[1]);
  EXPECT_TRUE(n.normal_map);
  EXPECT_FALSE(n.srgb);
  EXPECT_FALSE(n.flip_green) << "the unreal profile already exports DirectX normals";
  EXPECT_STREQ(unreal_compression_name(n.compression), "TC_Normalmap");
  EXPECT_STREQ(unreal_lod_group_name(n.slot), "TEXTUREGROUP_WorldNormalMap");

  const auto orm = settings(Engine::kUnreal, files[2]);
  EXPECT_FALSE(orm.srgb);
  EXPECT_STREQ(unreal_compression_name(orm.compression), "TC_Masks");
  EXPECT_EQ(orm.channels.channel_of("roughness"), 1);

  const auto h = settings(Engine::kUnreal, files[3]);
  EXPECT_FALSE(h.srgb);
  EXPECT_TRUE(h.high_precision);
  EXPECT_STREQ(unreal_compression_name(h.compression), "TC_Grayscale");

  const auto manifest = settings(Engine::kUnreal, files[4]);
  EXPECT_FALSE(manifest.is_texture);
  EXPECT_STREQ(unreal_compression_name(manifest.compression), "");
}

TEST(UnrealImport, OpenGlNormalsAreFlipped) {
  const auto n = settings(Engine::kUnreal, godot_profile()[1]);
  EXPECT_TRUE(n.flip_green);
  const auto height = settings(Engine::kUnreal, godot_profile()[3]);
  EXPECT_STREQ(unreal_compression_name(height.compression), "TC_HDR");  // float EXR stays float
}

TEST(UnrealImport, NormalWithoutConventionIsRefused) {
  auto info = unreal_profile()[1];
  info.normal_convention = NormalConvention::kUnspecified;
  const auto result = import_settings(Engine::kUnreal, info);
  EXPECT_EQ(result.error.code, StatusCode::kInvalidArgument);
  EXPECT_NE(result.error.message.find("T_Brick_N.png"), std::string::npos);
}

TEST(UnrealImport, AssetNames) {
  EXPECT_EQ(unreal_asset_name("T_Brick_BC.png"), "T_Brick_BC");
  EXPECT_EQ(unreal_asset_name("T_Red.Brick_BC.png"), "T_Red_Brick_BC");
  EXPECT_EQ(unreal_asset_name("material.json"), "material");
  EXPECT_EQ(unreal_asset_name("noext"), "noext");
  EXPECT_EQ(unreal_material_instance_name("Brick"), "MI_Brick");
}

TEST(GodotImport, GodotProfileParams) {
  const auto files = godot_profile();
  auto albedo = godot_params(files[0]);
  EXPECT_EQ(albedo["compress/mode"], "2");
  EXPECT_EQ(albedo["compress/normal_map"], "2");
  EXPECT_EQ(albedo["compress/channel_pack"], "0");
  EXPECT_EQ(albedo["mipmaps/generate"], "true");
  EXPECT_EQ(albedo["detect_3d/compress_to"], "0");

  auto normal = godot_params(files[1]);
  EXPECT_EQ(normal["compress/normal_map"], "1");
  EXPECT_EQ(normal["process/normal_map_invert_y"], "false") << "the godot profile exports OpenGL normals";

  auto orm = godot_params(files[2]);
  EXPECT_EQ(orm["compress/mode"], "2");
  EXPECT_EQ(orm["compress/normal_map"], "2");
  EXPECT_EQ(orm["compress/channel_pack"], "1");

  auto height = godot_params(files[3]);
  EXPECT_EQ(height["compress/mode"], "3") << "float height must not be block-compressed";
  EXPECT_EQ(height["process/hdr_as_srgb"], "false");

  EXPECT_TRUE(godot_params(files[4]).empty()) << "the manifest is not a texture";
}

TEST(GodotImport, DirectXNormalsAreInverted) {
  auto normal = godot_params(unreal_profile()[1]);
  EXPECT_EQ(normal["process/normal_map_invert_y"], "true");
}

TEST(GodotImport, ImportFileText) {
  const auto text = godot_import_file(godot_profile()[1]);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text.value,
            "[remap]\n\nimporter=\"texture\"\ntype=\"CompressedTexture2D\"\n\n[params]\n\n"
            "compress/mode=2\ncompress/high_quality=false\ncompress/normal_map=1\ncompress/channel_pack=1\n"
            "mipmaps/generate=true\nprocess/normal_map_invert_y=false\nprocess/hdr_as_srgb=false\n"
            "process/size_limit=0\ndetect_3d/compress_to=0\n");
  EXPECT_TRUE(godot_import_file(godot_profile()[4]).value.empty());
  EXPECT_EQ(godot_material_file_name("Brick"), "Brick_material.tres");
}

TEST(MaterialPlan, Unreal) {
  auto plan = material_plan(Engine::kUnreal, unreal_profile());
  ASSERT_TRUE(plan.ok()) << plan.error.to_string();
  EXPECT_EQ(plan.value.material_class, kUnrealParentMaterialName);
  ASSERT_EQ(plan.value.bindings.size(), 3u);
  EXPECT_EQ(plan.value.bindings[0].parameter, "BaseColor");
  EXPECT_EQ(plan.value.bindings[0].file_name, "T_Brick_BC.png");
  EXPECT_EQ(plan.value.bindings[1].parameter, "Normal");
  EXPECT_EQ(plan.value.bindings[1].file_name, "T_Brick_N.png");
  EXPECT_EQ(plan.value.bindings[2].parameter, "ORM");
  EXPECT_EQ(plan.value.bindings[2].file_name, "T_Brick_ORM.png");
}

TEST(MaterialPlan, GodotOrmMaterial) {
  auto plan = material_plan(Engine::kGodot, godot_profile());
  ASSERT_TRUE(plan.ok()) << plan.error.to_string();
  EXPECT_EQ(plan.value.material_class, "ORMMaterial3D");
  ASSERT_EQ(plan.value.bindings.size(), 3u);
  EXPECT_EQ(plan.value.bindings[0].parameter, "albedo_texture");
  EXPECT_EQ(plan.value.bindings[1].parameter, "normal_texture");
  EXPECT_EQ(plan.value.bindings[1].enable_property, "normal_enabled");
  EXPECT_EQ(plan.value.bindings[2].parameter, "orm_texture");
  EXPECT_EQ(plan.value.bindings[2].enable_property, "ao_enabled");
  EXPECT_TRUE(plan.value.scalars.empty());

  auto with_height = material_plan(Engine::kGodot, godot_profile(), /*use_height=*/true);
  ASSERT_EQ(with_height.value.bindings.size(), 4u);
  EXPECT_EQ(with_height.value.bindings[3].parameter, "heightmap_texture");
  EXPECT_EQ(with_height.value.bindings[3].file_name, "Brick_height.exr");
  EXPECT_EQ(with_height.value.bindings[3].enable_property, "heightmap_enabled");
}

TEST(MaterialPlan, GodotSeparateMapsUseStandardMaterial) {
  // The raw profile: separate linear EXR maps.
  std::vector<TextureFileInfo> raw = {
      file("B_albedo.exr", TextureSemantic::kBaseColor, ColorSpace::kLinear, FileFormat::kExrFloat, 3),
      file("B_roughness.exr", TextureSemantic::kRoughness, ColorSpace::kLinear, FileFormat::kExrFloat, 1,
           NormalConvention::kUnspecified, "Y=roughness"),
      file("B_metallic.exr", TextureSemantic::kMetallic, ColorSpace::kLinear, FileFormat::kExrFloat, 1,
           NormalConvention::kUnspecified, "Y=metallic"),
      file("B_ambient_occlusion.exr", TextureSemantic::kAmbientOcclusion, ColorSpace::kLinear,
           FileFormat::kExrFloat, 1, NormalConvention::kUnspecified, "Y=ambient_occlusion")};
  auto plan = material_plan(Engine::kGodot, raw);
  ASSERT_TRUE(plan.ok()) << plan.error.to_string();
  EXPECT_EQ(plan.value.material_class, "StandardMaterial3D");
  ASSERT_EQ(plan.value.bindings.size(), 4u);
  EXPECT_EQ(plan.value.bindings[1].parameter, "roughness_texture");
  EXPECT_EQ(plan.value.bindings[1].channel_property, "roughness_texture_channel");
  EXPECT_EQ(plan.value.bindings[1].channel, 0);
  EXPECT_EQ(plan.value.bindings[2].parameter, "metallic_texture");
  EXPECT_EQ(plan.value.bindings[3].parameter, "ao_texture");
  EXPECT_EQ(plan.value.bindings[3].enable_property, "ao_enabled");
  ASSERT_EQ(plan.value.scalars.size(), 1u);
  EXPECT_EQ(plan.value.scalars[0].first, "metallic");
  EXPECT_EQ(plan.value.scalars[0].second, 1.0f);
  // Linear base colour from EXR is not sRGB-decoded.
  EXPECT_FALSE(settings(Engine::kGodot, raw[0]).srgb);
}

TEST(MaterialPlan, UnityMetallicSmoothnessReadsTheMetallicChannel) {
  std::vector<TextureFileInfo> unity = {
      file("B_Albedo.png", TextureSemantic::kBaseColor, ColorSpace::kSrgb, FileFormat::kPng8, 3),
      file("B_MetallicSmoothness.png", TextureSemantic::kMetallicSmoothness, ColorSpace::kLinear, FileFormat::kPng8,
           4, NormalConvention::kUnspecified, "R=metallic,G=ambient_occlusion,B=one,A=smoothness")};
  auto plan = material_plan(Engine::kGodot, unity);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan.value.bindings.size(), 2u);
  EXPECT_EQ(plan.value.bindings[1].parameter, "metallic_texture");
  EXPECT_EQ(plan.value.bindings[1].channel, 0);
}

TEST(MaterialPlan, Errors) {
  auto files = unreal_profile();
  files[2].packing = "R=roughness,G=ambient_occlusion,B=metallic";
  auto swapped = material_plan(Engine::kUnreal, files);
  EXPECT_EQ(swapped.error.code, StatusCode::kInvalidArgument);
  EXPECT_NE(swapped.error.message.find("T_Brick_ORM.png"), std::string::npos);

  auto twice = unreal_profile();
  twice.push_back(twice[0]);
  twice.back().name = "T_Other_BC.png";
  EXPECT_EQ(material_plan(Engine::kUnreal, twice).error.code, StatusCode::kInvalidArgument);

  auto no_base = unreal_profile();
  no_base.erase(no_base.begin());
  EXPECT_EQ(material_plan(Engine::kGodot, no_base).error.code, StatusCode::kNotFound);
}

TEST(Engines, Conventions) {
  EXPECT_EQ(default_profile(Engine::kUnreal), ExportProfile::kUnreal);
  EXPECT_EQ(default_profile(Engine::kGodot), ExportProfile::kGodot);
  EXPECT_EQ(engine_normal_convention(Engine::kUnreal), NormalConvention::kDirectX);
  EXPECT_EQ(engine_normal_convention(Engine::kGodot), NormalConvention::kOpenGl);
  EXPECT_EQ(parse_export_profile("Godot"), ExportProfile::kGodot);
  EXPECT_FALSE(parse_export_profile("blender").has_value());
}

}  // namespace
}  // namespace intrinsix
