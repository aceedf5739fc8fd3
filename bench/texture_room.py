"""Room-texturing benchmark: a whole room textured by score distillation, timed stage by stage.

Workload (GPU): `kernels.meshes.box_room` with 6 boxes and 49 x 49 subdivisions per face
(201,684 triangles, 7 objects without UVs -> xatlas atlases), 2048^2 texels in all, 512^2 views,
2 views per iteration; the IntrinsiX prior on a FLUX.1-dev-sized transformer (19 + 38 blocks,
width 3072, random bf16 weights, rank-64 branch LoRA merged and q/k/v fused, cross-intrinsic
attention, regional torch.compile: the configuration bench/generate.py calls "ours"), a random
FLUX.1-sized VAE (16 latent channels, 128-256-512-512) and random prompt embeddings of the real
shapes ([1, 512, 4096], pooled [1, 768]; a second random pair stands for the empty negative prompt
of true CFG, on by default at texture-room's 5: two transformer passes per iteration); no text
encoders.

What is measured: atlas (xatlas) + geometry, camera placement, seconds per iteration in each
phase (CUDA-synchronised wall time per iteration, median after the first 3), the first
iteration's extra time (compilation), seam dilation, export (per-object Unreal texture sets +
room.glb), peak GPU memory. The run itself does `--iterations` iterations (default 40); the
total at the default iteration count (560) is  atlas + cameras + first-iteration extra +
iterations x per-iteration time per phase + dilation + export  (an extrapolation: stated as such).

Baselines are published figures, not runs: SceneTex reports about 20 GPU-hours and 48 GB for a
room; FlashTex 2-4 minutes per single object; the target is a whole room in under 10 minutes on one H100.

Reproduce (GPU):   PYTHONPATH=<dev site> python bench/texture_room.py
Smoke test (CPU):  PYTHONPATH=<dev site> python bench/texture_room.py --tiny
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

# `python bench/texture_room.py` puts bench/ first on sys.path, where bench/kernels.py would shadow
# the `kernels` package that transformers probes for at import time: take bench/ off the path.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import torch  # noqa: E402

SCENETEX_SECONDS = 20 * 3600.0  # reported GPU time for one room
SCENETEX_MEMORY_GB = 48.0
TARGET_SECONDS = 600.0
FLUX_VAE = dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(128, 256, 512, 512), layers_per_block=2,
                latent_channels=16, norm_num_groups=32, sample_size=1024, scaling_factor=0.3611, shift_factor=0.1159,
                use_quant_conv=False, use_post_quant_conv=False)


def _generate_bench():
    """bench/generate.py as a module (its transformer builder and random LoRA)."""
    spec = importlib.util.spec_from_file_location("bench_generate", Path(__file__).with_name("generate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_prior(tiny: bool, device: torch.device, true_cfg_scale: float = 1.0):
    """(IntrinsiXPrior, resident weight bytes) with random weights (see the module docstring)."""
    from diffusers import AutoencoderKL

    from intrinsix.generator import IntrinsiXPipeline, add_branch_lora, fuse_branch_qkv, merge_branch_lora
    from intrinsix.generator.attention import set_cross_intrinsic_attention
    from intrinsix.generator.lora import branch_lora_modules
    from intrinsix.generator.tiny import make_tiny_scheduler, make_tiny_vae
    from intrinsix.texturing.prior import IntrinsiXPrior

    gen = _generate_bench()
    config = gen.TINY if tiny else gen.FLUX_DEV
    dtype = torch.float32 if tiny else torch.bfloat16
    rank = 4 if tiny else 64
    transformer = gen.build_transformer(config, device, dtype, seed=0)
    downs, ups = gen.random_lora(transformer, rank, seed=1)
    add_branch_lora(transformer, rank=rank)
    with torch.no_grad():
        for name, layer in branch_lora_modules(transformer).items():
            layer.lora_down.copy_(downs[name])
            layer.lora_up.copy_(ups[name])
    backends = None
    if device.type == "cuda":
        from torch.nn.attention import SDPBackend

        backends = [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]
    set_cross_intrinsic_attention(transformer, sdpa_backends=backends)
    merge_branch_lora(transformer)
    fuse_branch_qkv(transformer)
    transformer.requires_grad_(False)
    if device.type == "cuda":
        transformer.compile_repeated_blocks(dynamic=False)
    if tiny:
        vae = make_tiny_vae(2)
    else:
        torch.manual_seed(2)
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype)  # initialise directly in the target dtype, on the device
        try:
            with torch.device(device):
                vae = AutoencoderKL(**FLUX_VAE)
        finally:
            torch.set_default_dtype(previous)
    vae = vae.eval().requires_grad_(False)
    pipe = IntrinsiXPipeline(make_tiny_scheduler(), vae, None, None, None, None, transformer)
    text = 32 if tiny else 512
    g = torch.Generator().manual_seed(3)
    embeds = torch.randn(1, text, config["joint_attention_dim"], generator=g)
    pooled = torch.randn(1, config["pooled_projection_dim"], generator=g)
    # True CFG against a second (random) embedding, as the empty negative prompt would be.
    negative = (torch.randn(1, text, config["joint_attention_dim"], generator=g),
                torch.randn(1, config["pooled_projection_dim"], generator=g))
    prior = IntrinsiXPrior(pipe, guidance=3.5, true_cfg_scale=true_cfg_scale,
                           negative_prompt="" if true_cfg_scale > 1 else None,
                           text_encoder=lambda prompt: negative if prompt == "" else (embeds, pooled))
    weights = gen.model_bytes(transformer) + gen.model_bytes(vae)
    return prior, weights


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model and room on the CPU (smoke run)")
    parser.add_argument("--iterations", type=int, default=None, help="iterations actually run (default 40; tiny 8)")
    parser.add_argument("--views-per-iteration", type=int, default=2)
    parser.add_argument("--resolution", type=int, default=None, help="view size (default 512; tiny 64)")
    parser.add_argument("--true-cfg-scale", type=float, default=None,
                        help="true CFG of the prior (default: texture-room's, 5; 1 = off, half the transformer work)")
    parser.add_argument("--json", help="write the raw numbers to this file")
    args = parser.parse_args(argv)

    from intrinsix.kernels import meshes
    from intrinsix.texturing.export import export_room
    from intrinsix.texturing.optimize import DEFAULT_ITERATIONS, DEFAULT_TRUE_CFG_SCALE, TexturingConfig, texture_room
    from intrinsix.texturing.scene import scene_from_arrays

    device = torch.device("cuda" if torch.cuda.is_available() and not args.tiny else "cpu")
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
    iterations = args.iterations or (8 if args.tiny else 40)
    resolution = args.resolution or (64 if args.tiny else 512)
    subdivisions, boxes, budget = (2, 2, 128) if args.tiny else (49, 6, 2048)

    t0 = time.perf_counter()
    true_cfg = DEFAULT_TRUE_CFG_SCALE if args.true_cfg_scale is None else args.true_cfg_scale
    prior, weight_bytes = build_prior(args.tiny, device, true_cfg)
    model_s = time.perf_counter() - t0
    positions, triangles, objects = meshes.box_room(size=(6.0, 3.0, 5.0), boxes=boxes, subdivisions=subdivisions)
    scene = scene_from_arrays(positions.numpy(), triangles.numpy(), objects.numpy())
    print(f"device {torch.cuda.get_device_name() if cuda else 'cpu'}, torch {torch.__version__}; model built in "
          f"{model_s:.1f} s ({weight_bytes / 2**30:.2f} GiB); room {scene.triangle_count} triangles, {len(scene)} "
          f"objects, budget {budget}^2 texels, views {resolution}^2 x {args.views_per_iteration}, true CFG {true_cfg:g}",
          flush=True)

    config = TexturingConfig(iterations=iterations, resolution=resolution, views_per_iteration=args.views_per_iteration,
                             texture_budget=budget * budget)
    stamps: dict[str, list[float]] = {"texturing": [], "normal_detail": []}
    clock = {"last": time.perf_counter()}
    run_start = time.perf_counter()

    def on_progress(stage: str, step: int, total: int) -> None:
        """Wall time of every iteration (GPU synchronised): from the previous report to this one."""
        if stage in stamps or (stage == "cameras" and step == total):
            if cuda:
                torch.cuda.synchronize()
            now = time.perf_counter()
            if stage in stamps:
                stamps[stage].append(now - clock["last"])
            clock["last"] = now
        if step == total:
            print(f"  {stage} done at {time.perf_counter() - run_start:.1f} s", flush=True)

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    run_start = time.perf_counter()
    result = texture_room(scene, prior, "a bright living room with wooden furniture", config, device=device,
                          on_progress=on_progress)
    run_s = time.perf_counter() - run_start
    peak_gib = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    t0 = time.perf_counter()
    room = export_room(result, "unreal", metadata={"benchmark": "bench/texture_room.py"})
    export_s = time.perf_counter() - t0

    def per_iteration(values: list[float]) -> tuple[float, float]:
        steady = values[3:] if len(values) > 4 else values[1:] or values
        median = statistics.median(steady)
        return median, max(values[0] - median, 0.0) if values else 0.0

    t1, warm1 = per_iteration(stamps["texturing"])
    t2, warm2 = per_iteration(stamps["normal_detail"]) if stamps["normal_detail"] else (t1, 0.0)
    default_config = TexturingConfig(resolution=resolution, views_per_iteration=args.views_per_iteration)
    n1, n2 = default_config.phase_iterations
    timings = result.timings
    total_default = (timings["prepare"] + timings["cameras"] + warm1 + warm2 + n1 * t1 + n2 * t2
                     + timings["dilating"] + export_s)
    raw = {
        "device": torch.cuda.get_device_name() if cuda else "cpu", "triangles": scene.triangle_count,
        "objects": len(scene), "texture_sizes": [o.texture_size for o in result.scene], "resolution": resolution,
        "views_per_iteration": args.views_per_iteration, "iterations_run": iterations, "true_cfg_scale": true_cfg,
        "model_build_s": model_s, "weights_gib": weight_bytes / 2**30, "run_s": run_s,
        "prepare_s": timings["prepare"], "cameras_s": timings["cameras"], "cameras": len(result.plan.cameras),
        "coverage": result.plan.coverage, "reachable_coverage": result.plan.reachable,
        "gradient_coverage": result.gradient_coverage,
        "texturing_iteration_s": t1, "normal_iteration_s": t2, "first_iteration_extra_s": warm1 + warm2,
        "dilating_s": timings["dilating"], "export_s": export_s, "peak_gib": peak_gib,
        "default_iterations": DEFAULT_ITERATIONS, "default_phase_iterations": [n1, n2],
        "total_at_default_s": total_default, "glb_bytes": len(room.glb),
        "iteration_times_s": stamps,
    }
    print(f"atlas + geometry {timings['prepare']:.1f} s; cameras {timings['cameras']:.1f} s ({len(result.plan.cameras)} "
          f"views, texel coverage {result.plan.coverage:.1%}, reachable {result.plan.reachable:.1%}); "
          f"{result.gradient_coverage:.1%} of seen texels got a gradient; dilation {timings['dilating']:.1f} s; "
          f"export {export_s:.1f} s; first-iteration extra {warm1 + warm2:.1f} s", flush=True)
    rows = [
        ("s / iteration, albedo+material phase", t1, None),
        ("s / iteration, normal-detail phase", t2, None),
        ("peak GPU memory (GiB)", peak_gib, SCENETEX_MEMORY_GB / 1.073741824),
        (f"whole room, {DEFAULT_ITERATIONS} iterations (s, extrapolated)", total_default, SCENETEX_SECONDS),
        ("whole room vs the 10-minute target (s)", total_default, TARGET_SECONDS),
    ]
    print()
    print(f"{'workload':<52} | {'ours':>10} | {'baseline':>10} | {'ratio':>7}")
    print("-" * 89)
    for name, ours, baseline in rows:
        base = f"{baseline:>10.1f}" if baseline is not None else f"{'-':>10}"
        ratio = f"{baseline / ours:>6.1f}x" if baseline is not None and ours == ours and ours > 0 else f"{'-':>7}"
        print(f"{name:<52} | {ours:>10.3f} | {base} | {ratio}")
    print("baselines: SceneTex's reported ~20 GPU-hours and 48 GB per room (published figures, not a run here); "
          "the 10-minute target. ratio = baseline / ours.")
    print(f"measured {iterations} iterations ({run_s:.1f} s incl. placement); the whole-room total extrapolates the "
          f"per-iteration medians to {DEFAULT_ITERATIONS} iterations ({n1} + {n2}).")
    print("reproduce: python bench/texture_room.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
