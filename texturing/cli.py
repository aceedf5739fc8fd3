"""`intrinsix texture-room ROOM --prompt "..." --out DIR`: texture a room mesh from text.

    intrinsix texture-room room.glb --prompt "a cozy scandinavian living room" \\
        --object-prompt Sofa="green velvet sofa" --out textured/ --target unreal

Registered into the `intrinsix` console script by cli/main.py (`texturing_cli.register(sub)`).
Writes DIR/room.glb (the textured room), DIR/room.json (report) and DIR/<Object>/ (each object's
texture set in the target engine's conventions, with material.json).
"""

from __future__ import annotations

import argparse
from pathlib import Path

TARGETS = ("unreal", "godot", "gltf", "unity", "raw")
MAX_ITERATIONS = 20000
MAX_BUDGET_SIDE = 16384


def _object_prompt(text: str) -> tuple[str, str]:
    name, sep, prompt = text.partition("=")
    if not sep or not name.strip() or not prompt.strip():
        raise argparse.ArgumentTypeError(f"--object-prompt must look like NAME=PROMPT, got {text!r}")
    return name.strip(), prompt.strip()


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "texture-room",
        help="texture a room mesh (glTF/GLB/OBJ) from text, keeping its UVs",
        description="Optimise PBR UV textures (albedo, roughness, metallic, normal detail) for every object of a "
        "room by score distillation with the IntrinsiX model, then write each object's texture set for an engine "
        "and a textured room.glb. Existing UVs are kept; objects without UVs get an atlas.",
    )
    p.add_argument("room", type=Path, help="room mesh: .glb, .gltf or .obj (one object per node / 'o' name)")
    p.add_argument("--prompt", required=True, help="what the room looks like")
    p.add_argument("--object-prompt", action="append", default=[], type=_object_prompt, metavar="NAME=PROMPT",
                   help="an object's own prompt (its name in the file); may be repeated")
    p.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    p.add_argument("--target", default="gltf", choices=TARGETS,
                   help="engine profile of the texture sets (default gltf)")
    p.add_argument("--iterations", type=int, default=None,
                   help=f"score-distillation iterations, 1..{MAX_ITERATIONS} (default 560)")
    p.add_argument("--texture-budget", type=int, default=2048, metavar="SIDE",
                   help="total texels of all objects' maps, as the side of one square (default 2048: 2048^2 texels)")
    p.add_argument("--view-size", type=int, default=None,
                   help="rendered view size in pixels, a multiple of 16 (default: the model's image size)")
    p.add_argument("--views-per-iteration", type=int, default=None, help="views scored together (default 2)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--guidance", type=float, default=None, help="embedded guidance scale (default: the model's)")
    p.add_argument("--true-cfg-scale", type=float, default=None,
                   help="true classifier-free guidance of the prior, against --negative-prompt (default 5; 1 = off, "
                        "half the transformer work)")
    p.add_argument("--negative-prompt", default="", help="what the guidance steers away from (default: the empty prompt)")
    p.add_argument("--model", type=Path, default=None,
                   help="model folder: a diffusers FLUX.1 folder or the demo model (default: the bundled demo model)")
    p.add_argument("--lora", type=Path, default=None, help="IntrinsiX LoRA file (published or PEFT layout)")
    p.add_argument("--device", default="auto", help="'auto' (CUDA if available), 'cpu', 'cuda' or 'cuda:N'")
    p.add_argument("--overwrite", action="store_true", help="replace existing files in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def check_arguments(args: argparse.Namespace) -> None:
    """Raise CLIError naming the argument and its allowed range."""
    from intrinsix.cli.errors import CLIError, check_prompt, check_true_cfg_scale_option

    if not args.room.is_file():
        raise CLIError(f"room file {args.room} does not exist")
    check_prompt(args.prompt, "--prompt")
    if args.iterations is not None and not 1 <= args.iterations <= MAX_ITERATIONS:
        raise CLIError(f"--iterations must be in [1, {MAX_ITERATIONS}], got {args.iterations}")
    if not 32 <= args.texture_budget <= MAX_BUDGET_SIDE:
        raise CLIError(f"--texture-budget must be in [32, {MAX_BUDGET_SIDE}], got {args.texture_budget}")
    if args.view_size is not None and (args.view_size < 16 or args.view_size % 16 or args.view_size > 2048):
        raise CLIError(f"--view-size must be a multiple of 16 in [16, 2048], got {args.view_size}")
    if args.views_per_iteration is not None and not 1 <= args.views_per_iteration <= 16:
        raise CLIError(f"--views-per-iteration must be in [1, 16], got {args.views_per_iteration}")
    if args.guidance is not None and not 0.0 <= args.guidance <= 30.0:
        raise CLIError(f"--guidance must be in [0, 30], got {args.guidance}")
    if args.true_cfg_scale is not None:
        check_true_cfg_scale_option(args.true_cfg_scale)
    check_prompt(args.negative_prompt, "--negative-prompt", required=False)
    if args.seed < 0:
        raise CLIError(f"--seed must be >= 0, got {args.seed}")
    if args.lora is not None and not args.lora.is_file():
        raise CLIError(f"--lora {args.lora} is not a file")
    if args.out.exists() and not args.out.is_dir():
        raise CLIError(f"--out {args.out} exists and is not a folder")


def run(args: argparse.Namespace) -> int:
    from intrinsix.cli.errors import CLIError
    from intrinsix.cli.generate import resolve_device, resolve_model_dir

    check_arguments(args)
    model_dir = resolve_model_dir(args.model)
    device = resolve_device(args.device)

    from tqdm import tqdm

    from intrinsix.generator import load_pipeline
    from intrinsix.generator.defaults import generation_defaults

    from .export import export_room, write_room
    from .mesh_io import load_room
    from .optimize import DEFAULT_ITERATIONS, DEFAULT_TRUE_CFG_SCALE, TexturingConfig, texture_room
    from .prior import IntrinsiXPrior
    from .scene import MeshError

    try:
        scene = load_room(args.room, dict(args.object_prompt))
    except MeshError as exc:
        raise CLIError(str(exc)) from exc
    except KeyError as exc:
        raise CLIError(f"--object-prompt: {exc.args[0]}") from exc
    try:
        pipe = load_pipeline(model_dir, lora_path=args.lora, device=device)
    except (OSError, ValueError, KeyError) as exc:
        raise CLIError(f"cannot load the model from {model_dir}: {exc}") from exc
    pipe.set_progress_bar_config(disable=True)
    defaults = generation_defaults(model_dir)
    guidance = defaults["guidance_scale"] if args.guidance is None else args.guidance
    config = TexturingConfig(
        iterations=args.iterations or DEFAULT_ITERATIONS, resolution=args.view_size or int(defaults["size"]),
        views_per_iteration=args.views_per_iteration or TexturingConfig.views_per_iteration,
        texture_budget=args.texture_budget ** 2, seed=args.seed)

    bars: dict[str, tqdm] = {}

    def on_progress(stage: str, step: int, total: int) -> None:
        if args.quiet:
            return
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="it", leave=False)
        bar.update(step - bar.n)

    try:
        cfg = DEFAULT_TRUE_CFG_SCALE if args.true_cfg_scale is None else args.true_cfg_scale
        prior = IntrinsiXPrior(pipe, guidance=guidance, true_cfg_scale=cfg, negative_prompt=args.negative_prompt)
        result = texture_room(scene, prior, args.prompt, config, device=device, on_progress=on_progress)
    except MeshError as exc:
        raise CLIError(str(exc)) from exc
    finally:
        for bar in bars.values():
            bar.close()
    room = export_room(result, args.target, metadata={"prompt": args.prompt.strip(), "seed": args.seed,
                                                       "model": str(model_dir)})
    try:
        written = write_room(room, args.out, overwrite=args.overwrite)
    except FileExistsError as exc:
        raise CLIError(f"{exc} (use --overwrite to replace)") from exc
    for path in written:
        print(path)
    print(f"texel coverage {result.plan.coverage:.1%} from {len(result.plan.cameras)} cameras; "
          f"{result.gradient_coverage:.1%} of seen texels were optimised")
    return 0
