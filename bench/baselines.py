"""Loading the baselines we compare against (GPU machines only)."""

from __future__ import annotations

import glob
import os
import sys


def load_nvdiffrast():
    """(nvdiffrast.torch module, RasterizeCudaContext) or None if nvdiffrast is not installed.

    The PyPI build (diffrp-nvdiffrast) JIT-compiles its plug-in on first use and then cannot import
    it unless the torch-extensions build folder is on sys.path; we add it and retry once.
    """
    try:
        import nvdiffrast.torch as dr
    except ImportError:
        return None
    try:
        return dr, dr.RasterizeCudaContext()
    except ImportError:
        root = os.environ.get("TORCH_EXTENSIONS_DIR", os.path.expanduser("~/.cache/torch_extensions"))
        for folder in glob.glob(os.path.join(root, "*", "nvdiffrast_plugin*")):
            if folder not in sys.path:
                sys.path.insert(0, folder)
        return dr, dr.RasterizeCudaContext()
