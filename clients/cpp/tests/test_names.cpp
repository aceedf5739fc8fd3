// File-name safety (nothing from the server may leave the output folder) and material names.
#include <gtest/gtest.h>

#include "intrinsix/names.h"

namespace intrinsix {
namespace {

TEST(SafeFileName, AcceptsProfileNames) {
  for (const char* name : {"T_RedBrick_BC.png", "RedBrick_albedo.png", "RedBrick_height.exr", "material.json",
                           "RedBrick.glb", "preview.png", "a", "x-y_z.1.png"}) {
    std::string why;
    EXPECT_TRUE(is_safe_file_name(name, &why)) << name << ": " << why;
  }
}

TEST(SafeFileName, RefusesPathsAndTricks) {
  const std::string long_name(129, 'a');
  for (const std::string& name : {std::string(""), std::string("../evil.png"), std::string("a/b.png"),
                                  std::string("a\\b.png"), std::string(".hidden"), std::string(".."),
                                  std::string("a..b"), std::string("/etc/passwd"), std::string("C:evil"),
                                  std::string("name."), std::string("sp ace.png"), std::string("caf\xc3\xa9.png"),
                                  std::string("nul.png"), std::string("CON"), std::string("com1.txt"),
                                  std::string("LPT9.json"), long_name, std::string("a\0b", 3)}) {
    std::string why;
    EXPECT_FALSE(is_safe_file_name(name, &why)) << "accepted '" << name << "'";
    EXPECT_FALSE(why.empty()) << name;
  }
  // Names that only look like device names are fine.
  EXPECT_TRUE(is_safe_file_name("CONSOLE.png"));
  EXPECT_TRUE(is_safe_file_name("COM0.png"));
  EXPECT_TRUE(is_safe_file_name("nullable.png"));
}

TEST(MaterialName, FromPromptFollowsTheServerRule) {
  EXPECT_EQ(material_name_from_prompt("polished gold tiles"), "PolishedGoldTiles");
  EXPECT_EQ(material_name_from_prompt("../../etc/passwd"), "EtcPasswd");
  EXPECT_EQ(material_name_from_prompt("3d bricks"), "M3dBricks");
  EXPECT_EQ(material_name_from_prompt("weathered RED-brick, wet"), "WeatheredREDBrickWet");
  EXPECT_EQ(material_name_from_prompt("!!! ???"), "Material");
  EXPECT_EQ(material_name_from_prompt("", "Fallback"), "Fallback");
  EXPECT_EQ(material_name_from_prompt(std::string(100, 'a')).size(), kMaxMaterialNameChars);
  EXPECT_TRUE(is_valid_material_name(material_name_from_prompt("caf\xc3\xa9 au lait")));
}

TEST(MaterialName, Validity) {
  EXPECT_TRUE(is_valid_material_name("RedBrick_2"));
  EXPECT_FALSE(is_valid_material_name(""));
  EXPECT_FALSE(is_valid_material_name("2Red"));
  EXPECT_FALSE(is_valid_material_name("_Red"));
  EXPECT_FALSE(is_valid_material_name("Red Brick"));
  EXPECT_FALSE(is_valid_material_name("Red.Brick"));
  EXPECT_FALSE(is_valid_material_name("../Red"));
  EXPECT_FALSE(is_valid_material_name(std::string(65, 'a')));
  EXPECT_TRUE(is_valid_material_name(std::string(64, 'a')));
}

}  // namespace
}  // namespace intrinsix
