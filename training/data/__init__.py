"""Training data for IntrinsiX (docs/training-data.md).

- Procedural PBR materials (tileable, deterministic per seed, captioned):
  `sample_spec`, `generate_material`, `random_material`, `MaterialSpec`, `Material`, and the
  vocabulary (`FAMILIES`, `FINISHES`, `NAMED_COLOURS`, `all_combinations`, `split_combinations`).
- Synthetic rooms rendered with `intrinsix.kernels` into the InteriorVerse layout:
  `make_procedural_dataset` (CLI: `intrinsix data make-procedural`).
- Data sets: `InteriorVerseDataset` (files in the InteriorVerse layout) and
  `ProceduralMaterialDataset` (flat material samples, no files).
"""

from .colours import NAMED_COLOURS, hue_degrees, mean_albedo_matches, nearest_colour_name
from .exr import read_exr, write_exr
from .interiorverse import InteriorVerseDataset
from .materials import Material, MaterialSpec, caption, generate_material, random_material, sample_spec
from .procedural import ProceduralMaterialDataset
from .vocabulary import FAMILIES, FINISHES, Family, all_combinations, split_combinations

__all__ = [
    "NAMED_COLOURS", "hue_degrees", "mean_albedo_matches", "nearest_colour_name", "read_exr", "write_exr",
    "InteriorVerseDataset", "Material", "MaterialSpec", "caption", "generate_material", "random_material",
    "sample_spec", "ProceduralMaterialDataset", "FAMILIES", "FINISHES", "Family", "all_combinations",
    "split_combinations", "make_procedural_dataset",
]


def __getattr__(name: str):
    # The scene renderer needs the compiled kernels; import it only when asked for.
    if name == "make_procedural_dataset":
        from .make_procedural import make_procedural_dataset

        return make_procedural_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
