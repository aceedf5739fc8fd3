"""Material names: safe identifiers that become file-name prefixes (T_<Name>_BC.png, <Name>.glb).

A material name is never a path. `material_name_from_prompt` turns free text into a name
("polished gold tiles" -> "PolishedGoldTiles"); `check_material_name` rejects anything that is not
already a safe identifier, so a name given by a client cannot escape the output folder.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_LENGTH = 64

# An ASCII letter first, then letters, digits and '_': a valid identifier in C++, C#, GDScript and
# Python, and a valid Unreal asset name.
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_WORD = re.compile(r"[A-Za-z0-9]+")


def check_material_name(name: str) -> str:
    """Return `name` if it is a safe material name, else raise ValueError saying what is allowed."""
    if not isinstance(name, str):
        raise TypeError(f"material name must be a str, got {type(name).__name__}")
    if not 1 <= len(name) <= MAX_NAME_LENGTH or not _NAME.match(name):
        raise ValueError(
            f"material name {name!r} is not allowed: use 1-{MAX_NAME_LENGTH} characters from ASCII "
            "letters, digits and '_', starting with a letter (no spaces, dots, slashes or paths); "
            "material_name_from_prompt() turns free text into such a name"
        )
    return name


def material_name_from_prompt(prompt: str, default: str = "Material") -> str:
    """A safe material name made from free text: words in CamelCase, ASCII only, at most 64 chars.

    "polished gold tiles" -> "PolishedGoldTiles"; "../../etc/passwd" -> "EtcPasswd";
    "3d bricks" -> "M3dBricks" (a name starts with a letter); accents are stripped ("café" -> "Cafe").
    Text with no ASCII letters or digits gives `default` (itself checked with check_material_name).
    """
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
    check_material_name(default)
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode("ascii")
    words = _WORD.findall(ascii_text)
    name = "".join(word[0].upper() + word[1:] for word in words)
    if not name:
        return default
    if not name[0].isalpha():
        name = "M" + name
    return name[:MAX_NAME_LENGTH]
