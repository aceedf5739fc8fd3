"""`intrinsix generate "prompt" --out DIR`: one texture set from text, written for an engine."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .errors import CLIError, check_prompt, check_true_cfg_scale_option

TARGETS = ("unreal", "godot", "gltf", "unity", "raw")
MAX_SIZE = 2048
MAX_STEPS = 200


def default_model_dir() -> Path:
    """The bundled demo model (shipped inside the package), or $INTRINSIX_MODEL if set."""
    override = os.environ.get("INTRINSIX_MODEL")
    if override:
        return Path(override)
    import intrinsix.generator

    return Path(intrinsix.generator.__file__).resolve().parent / "demo_model"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "generate",
        help="generate a PBR texture set from a text prompt",
        description="Generate albedo, roughness, metallic and normal maps (+ derived height/AO) from text "
        "and write them in an engine's conventions, with material.json and preview.png.",
    )
    p.add_argument("prompt", help="what the material looks like, e.g. 'polished gold tiles'")
    p.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    p.add_argument("--target", default="gltf", choices=TARGETS, help="engine profile (default: gltf)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0): same seed, same maps")
    p.add_argument("--steps", type=int, default=None, help=f"denoising steps, 1..{MAX_STEPS} (default: the model's)")
    p.add_argument("--guidance", type=float, default=None, help="embedded guidance scale (default: the model's)")
    p.add_argument("--true-cfg-scale", type=float, default=None,
                   help="true classifier-free guidance scale in [1, 30], 1 = off; above 1 the transformer runs "
                        "twice per step (default: the model's: 1 for FLUX.1-dev, the bundled demo model's own)")
    p.add_argument("--negative-prompt", default=None,
                   help="what to guide away from when --true-cfg-scale is above 1 (default: the empty prompt)")
    p.add_argument("--size", type=int, default=None,
                   help=f"output size in pixels, a multiple of 16 in [16, {MAX_SIZE}] (default: the model's)")
    p.add_argument("--tileable", action="store_true", help="make the maps tile seamlessly")
    p.add_argument("--model", type=Path, default=None,
                   help="model folder: a diffusers FLUX.1 folder or the demo model (default: the bundled demo model)")
    p.add_argument("--lora", type=Path, default=None, help="IntrinsiX LoRA file (published or PEFT layout)")
    p.add_argument("--device", default="auto", help="'auto' (CUDA if available), 'cpu', 'cuda' or 'cuda:N'")
    p.add_argument("--name", default=None, help="material name (default: from the prompt)")
    p.add_argument("--overwrite", action="store_true", help="replace existing files in --out")
    p.set_defaults(func=run)


def resolve_model_dir(model: Path | None) -> Path:
    """--model, or the bundled demo model when it is not given; CLIError if the folder is missing."""
    model_dir = model if model is not None else default_model_dir()
    if not model_dir.is_dir():
        hint = "" if model is not None else " (the bundled demo model is missing: pass --model DIR)"
        raise CLIError(f"model folder {model_dir} does not exist{hint}")
    return model_dir


def check_arguments(args: argparse.Namespace) -> None:
    """Raise CLIError naming the argument and its allowed range."""
    check_prompt(args.prompt, "prompt")
    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise CLIError(f"--steps must be in [1, {MAX_STEPS}], got {args.steps}")
    if args.size is not None and (not 16 <= args.size <= MAX_SIZE or args.size % 16):
        raise CLIError(f"--size must be a multiple of 16 in [16, {MAX_SIZE}], got {args.size}")
    if args.guidance is not None and not 0.0 <= args.guidance <= 30.0:
        raise CLIError(f"--guidance must be in [0, 30], got {args.guidance}")
    if args.true_cfg_scale is not None:
        check_true_cfg_scale_option(args.true_cfg_scale)
    if args.negative_prompt is not None:
        check_prompt(args.negative_prompt, "--negative-prompt", required=False)
    if args.lora is not None and not args.lora.is_file():
        raise CLIError(f"--lora {args.lora} is not a file")
    if args.out.exists() and not args.out.is_dir():
        raise CLIError(f"--out {args.out} exists and is not a folder")


def resolve_device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise CLIError(f"--device {name!r} is not a device name ('auto', 'cpu', 'cuda', 'cuda:N')") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CLIError(f"--device {name} asked for CUDA but no CUDA device is available")
    return device


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    model_dir = resolve_model_dir(args.model)
    device = resolve_device(args.device)

    import torch
    from tqdm import tqdm

    from intrinsix import pbr
    from intrinsix.generator import load_pipeline
    from intrinsix.generator.defaults import generation_defaults, guidance_arguments

    try:
        defaults = generation_defaults(model_dir)
    except ValueError as exc:
        raise CLIError(f"cannot load the model from {model_dir}: {exc}") from exc
    steps = args.steps or defaults["num_inference_steps"]
    size = args.size or defaults["size"]
    guidance = defaults["guidance_scale"] if args.guidance is None else args.guidance
    true_cfg = defaults["true_cfg_scale"] if args.true_cfg_scale is None else args.true_cfg_scale
    if args.negative_prompt is not None and true_cfg <= 1.0:
        raise CLIError("--negative-prompt is used only by true classifier-free guidance: pass --true-cfg-scale "
                       f"above 1 (this model's default is {true_cfg:g})")
    try:
        pipe = load_pipeline(model_dir, lora_path=args.lora, device=device)
    except (OSError, ValueError, KeyError) as exc:
        raise CLIError(f"cannot load the model from {model_dir}: {exc}") from exc
    pipe.set_progress_bar_config(disable=True)  # our own bar below counts the same steps

    progress = tqdm(total=steps, desc="denoising", unit="step", leave=False)

    def on_step_end(pipeline, step_index, timestep, callback_kwargs):
        progress.update(1)
        return {}

    generator = torch.Generator(device="cpu").manual_seed(args.seed)
    output = pipe(
        args.prompt, height=size, width=size, num_inference_steps=steps, guidance_scale=guidance,
        generator=generator, tileable=args.tileable, callback_on_step_end=on_step_end,
        **guidance_arguments(true_cfg, args.negative_prompt),
    )
    progress.close()

    name = args.name or pbr.material_name_from_prompt(args.prompt)
    texture_set = pbr.TextureSet.from_generator(
        output.albedo[0].float().cpu(), output.material[0].float().cpu(), output.normal[0].float().cpu(),
        name=name, tiling=args.tileable,
    ).with_derived()
    result = pbr.export(
        texture_set, args.target, preview=pbr.relight_preview(texture_set),
        metadata={"prompt": args.prompt, "seed": args.seed, "steps": steps, "guidance": guidance,
                  "true_cfg_scale": true_cfg, **({"negative_prompt": args.negative_prompt or ""} if true_cfg > 1 else {}),
                  "model": str(model_dir)},
    )
    try:
        written = pbr.write_export(result, args.out, overwrite=args.overwrite)
    except FileExistsError as exc:
        raise CLIError(f"{exc} (use --overwrite to replace)") from exc
    for path in written:
        print(path)
    return 0
