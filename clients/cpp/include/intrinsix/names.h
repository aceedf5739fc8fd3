// Names that become files: result file names from the server, and material names from the user.
#pragma once

#include <string>

namespace intrinsix {

// True if `name` is a plain file name that is safe to join to an output folder on every desktop
// OS: 1-128 characters from ASCII letters, digits, '_', '-', '.', not starting with '.', without
// "..", not ending with '.', and not a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9,
// with or without an extension). On false, `why` (if given) says which rule failed.
bool is_safe_file_name(const std::string& name, std::string* why = nullptr);

constexpr size_t kMaxMaterialNameChars = 64;

// True if `name` is a material name the server accepts and every engine can use as an asset or
// identifier: an ASCII letter, then up to 63 ASCII letters, digits and '_'.
bool is_valid_material_name(const std::string& name);

// A valid material name made from free text, the server's rule: ASCII words in CamelCase
// ("polished gold tiles" -> "PolishedGoldTiles"), "M" in front of a leading digit
// ("3d bricks" -> "M3dBricks"), cut to 64 characters; non-ASCII characters separate words.
// Text without ASCII letters or digits gives `fallback`.
std::string material_name_from_prompt(const std::string& prompt, const std::string& fallback = "Material");

}  // namespace intrinsix
