"""Whether this installation can texture rooms, answered without importing torch or the kernels
(the server asks while describing its model, before anything is loaded)."""

from __future__ import annotations

import importlib.util

REQUIRED_MODULES = ("xatlas",)  # trimesh is needed only to read non-glTF files (mesh_io)


def room_texturing_available() -> tuple[bool, str]:
    """(True, "") if rooms can be textured here, else (False, why)."""
    for module in REQUIRED_MODULES:
        if importlib.util.find_spec(module) is None:
            return False, f"the Python package {module!r} is not installed (pip install {module})"
    return True, ""
