// File and material name rules (see include/intrinsix/names.h).
#include "intrinsix/names.h"

#include <cctype>

namespace intrinsix {
namespace {

bool is_ascii_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

std::string upper(std::string text) {
  for (char& c : text) c = char(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

bool fail(std::string* why, const std::string& reason) {
  if (why != nullptr) *why = reason;
  return false;
}

}  // namespace

bool is_safe_file_name(const std::string& name, std::string* why) {
  if (name.empty() || name.size() > 128) {
    return fail(why, "file name must have 1-128 characters, got " + std::to_string(name.size()));
  }
  for (char c : name) {
    if (!is_ascii_alnum(c) && c != '_' && c != '-' && c != '.') {
      return fail(why, "file name '" + name + "' has a character other than letters, digits, '_', '-', '.'");
    }
  }
  if (name.front() == '.') return fail(why, "file name '" + name + "' starts with '.'");
  if (name.back() == '.') return fail(why, "file name '" + name + "' ends with '.'");
  if (name.find("..") != std::string::npos) return fail(why, "file name '" + name + "' contains '..'");
  // Windows opens devices for these names whatever the extension ("nul.png" is the null device).
  const std::string stem = upper(name.substr(0, name.find('.')));
  const bool device = stem == "CON" || stem == "PRN" || stem == "AUX" || stem == "NUL" ||
                      (stem.size() == 4 && (stem.compare(0, 3, "COM") == 0 || stem.compare(0, 3, "LPT") == 0) &&
                       stem[3] >= '1' && stem[3] <= '9');
  if (device) return fail(why, "file name '" + name + "' is a Windows device name");
  return true;
}

bool is_valid_material_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxMaterialNameChars) return false;
  if (!std::isalpha(static_cast<unsigned char>(name.front())) || !is_ascii_alnum(name.front())) return false;
  for (char c : name) {
    if (!is_ascii_alnum(c) && c != '_') return false;
  }
  return true;
}

std::string material_name_from_prompt(const std::string& prompt, const std::string& fallback) {
  std::string name;
  bool word_start = true;
  for (char c : prompt) {
    if (!is_ascii_alnum(c)) {  // any other byte (spaces, punctuation, UTF-8 sequences) ends a word
      word_start = true;
      continue;
    }
    name += word_start ? char(std::toupper(static_cast<unsigned char>(c))) : c;
    word_start = false;
  }
  if (name.empty()) return fallback;
  if (std::isdigit(static_cast<unsigned char>(name.front()))) name.insert(name.begin(), 'M');
  if (name.size() > kMaxMaterialNameChars) name.resize(kMaxMaterialNameChars);
  return name;
}

}  // namespace intrinsix
