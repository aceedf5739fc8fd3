"""Write a synthetic training set of procedural rooms in the InteriorVerse layout (layout.py).

    make_procedural_dataset("data/procedural", scenes=100, views_per_scene=4, size=(480, 640), seed=0)

Per view: `<id>_{im,albedo,material,normal,depth,mask}.exr` (float32) in
`<out>/dataset_85/<scene>/`, and `<id>_caption.txt` next to them (the caption root is `<out>`).
Scene lists `<out>/dataset_85/{train,val,test}.txt` and a `procedural.json` record of the
arguments. Scene k is fully determined by (seed, k), so a set can be extended or regenerated.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from . import exr, layout
from .render import ViewMaps, pack_material, render_view
from .scene import Scene, sample_cameras, sample_scene
from .vocabulary import Combination

RECORD_NAME = "procedural.json"
MIN_CAPTION_COVERAGE = 0.03  # a material gets a caption line when it covers at least 3 % of the valid pixels
ROLE_NOUNS = {"floor": "a floor", "ceiling": "a ceiling", "wall": "walls", "box": "a box", "sphere": "a sphere"}


def scene_name(index: int) -> str:
    return f"scene_{index:05d}"


def view_name(index: int) -> str:
    return f"{index:03d}"


def split_scenes(names: list[str]) -> dict[str, list[str]]:
    """Fixed split: 10 % validation and 10 % test (at least one each from 3 scenes on), taken from
    the end of the list; the rest is training. Fewer than 3 scenes: everything is training."""
    n = len(names)
    held = n // 10 if n >= 10 else (1 if n >= 3 else 0)
    train_end, val_end = n - 2 * held, n - held
    return {"train": names[:train_end], "val": names[train_end:val_end], "test": names[val_end:]}


def view_captions(scene: Scene, maps: ViewMaps, min_coverage: float = MIN_CAPTION_COVERAGE) -> list[str]:
    """Caption lines of a view: a sentence about the visible surfaces ("a room with walls of rough
    red brick with grey mortar and a floor of satin brown wood planks"), then one line per material
    covering at least `min_coverage` of the valid pixels, most visible first."""
    total = int(maps.material_pixels.sum())
    if total == 0:
        return ["an empty view"]
    order = sorted(range(len(scene.materials)), key=lambda k: -int(maps.material_pixels[k]))
    visible = [k for k in order if int(maps.material_pixels[k]) >= min_coverage * total]
    if not visible:
        visible = order[:1]
    clauses = []
    for k in visible:
        roles = [p.role for p in scene.parts if p.material == k]
        noun = ROLE_NOUNS[roles[0]] if roles else "a surface"
        clauses.append(f"{noun} of {scene.materials[k].caption}")
    sentence = "a room with " + (clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1])
    lines = [sentence] + [scene.materials[k].caption for k in visible]
    return list(dict.fromkeys(lines))  # drop duplicates (two parts with one material), keep the order


def _check_args(scenes: int, views_per_scene: int, size: tuple[int, int], seed: int, material_size: int) -> None:
    if not isinstance(scenes, int) or scenes < 1:
        raise ValueError(f"scenes must be an int >= 1, got {scenes!r}")
    if not isinstance(views_per_scene, int) or views_per_scene < 1:
        raise ValueError(f"views_per_scene must be an int >= 1, got {views_per_scene!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    if not isinstance(material_size, int) or not 16 <= material_size <= 4096:
        raise ValueError(f"material_size must be an int in [16, 4096], got {material_size!r}")
    height, width = size
    if not (isinstance(height, int) and isinstance(width, int)) or height < 3 or width < 4:
        raise ValueError(f"size must be (height, width) ints of at least (3, 4), got {size!r}")
    if 3 * width != 4 * height:
        raise ValueError(f"size must have the 4:3 aspect of the InteriorVerse views (width * 3 == height * 4), "
                         f"got width {width} x height {height}; e.g. 640x480 or 320x240")
    if width > 8192:
        raise ValueError(f"size width must be <= 8192, got {width}")


def _prepare_output(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"--out {out} is not empty; pass --overwrite to replace a data set written "
                                  "there before, or choose an empty folder")
        record = out / layout.DATASET_DIR / RECORD_NAME
        if record.is_file():  # remove only the scene folders that an earlier run recorded
            for name in json.loads(record.read_text()).get("scenes", []):
                folder = out / layout.DATASET_DIR / name
                if folder.is_dir() and folder.parent == out / layout.DATASET_DIR:
                    shutil.rmtree(folder)
    (out / layout.DATASET_DIR).mkdir(parents=True, exist_ok=True)


def write_view(folder: Path, view: str, maps: ViewMaps, captions: list[str]) -> None:
    """The six EXR maps and the caption file of one view (each file written atomically)."""
    for key in layout.MAP_SUFFIXES:
        exr.write_exr(layout.map_path(folder, view, key), getattr(maps, key))
    layout.write_text_atomic(folder / f"{view}_{layout.CAPTION_SUFFIX}", "\n".join(captions) + "\n")


def make_procedural_dataset(
    out: str | Path,
    scenes: int,
    views_per_scene: int = 4,
    size: tuple[int, int] = (480, 640),  # (height, width), 4:3
    seed: int = 0,
    material_size: int = 256,
    overwrite: bool = False,
    combinations: list[Combination] | None = None,
    progress: bool = True,
) -> dict[str, list[str]]:
    """Render `scenes` rooms x `views_per_scene` views into `out`; returns the split lists.

    Refuses a non-empty `out` unless `overwrite` (then the scene folders recorded by an earlier
    run are removed first and every file is replaced atomically). `combinations` restricts the
    materials to those (family, colour, finish) triples (e.g. the training half of
    `vocabulary.split_combinations()`).
    """
    _check_args(scenes, views_per_scene, size, seed, material_size)
    out = Path(out)
    _prepare_output(out, overwrite)
    from tqdm.auto import tqdm

    names = [scene_name(i) for i in range(scenes)]
    bar = tqdm(total=scenes * views_per_scene, desc="make-procedural", unit="view", disable=not progress)
    try:
        for index, name in enumerate(names):
            scene_seed = seed * 1_000_003 + index
            scene = sample_scene(scene_seed, material_size, combinations)
            textures = [pack_material(m) for m in scene.materials]
            folder = out / layout.DATASET_DIR / name
            folder.mkdir(parents=True, exist_ok=True)
            for k, camera in enumerate(sample_cameras(scene, views_per_scene, scene_seed)):
                maps = render_view(scene, camera, size, textures)
                write_view(folder, view_name(k), maps, view_captions(scene, maps))
                bar.update(1)
    finally:
        bar.close()
    splits = split_scenes(names)
    for split, members in splits.items():
        layout.write_text_atomic(layout.split_file(out, split), "".join(f"{m}\n" for m in members))
    record = {"generator": "intrinsix.training.data.make_procedural", "seed": seed, "scenes": names,
              "views_per_scene": views_per_scene, "size": {"width": size[1], "height": size[0]},
              "material_size": material_size, "fov_deg": 85.0,
              "combinations": None if combinations is None else [list(c) for c in combinations]}
    layout.write_text_atomic(out / layout.DATASET_DIR / RECORD_NAME, json.dumps(record, indent=2) + "\n")
    return splits
