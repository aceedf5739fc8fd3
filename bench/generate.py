"""Generator benchmark: our IntrinsiX transformer path vs the published structure, side by side.

Both run a FLUX.1-dev-sized FluxTransformer2DModel (19 double + 38 single blocks, width 3072;
random bf16 weights, the same base weights shared by both) with per-branch rank-64 LoRA on the
190 adapted projections and cross-intrinsic attention, three branches in one batch, random prompt
embeddings of the real shapes ([1, 512, 4096] broadcast, pooled [1, 768]); no text encoders, no VAE.

  ours      BranchLoRALinear in inference mode (per-branch merged weights, fused q/k/v, one batched
            GEMM), CrossIntrinsicAttnProcessor (single blocks: one attention call per triple, no
            K/V copies), SDPA backend picked by measurement (cuDNN or flash), regional torch.compile.
  baseline  the published structure (generator/reference.py): per-branch LoRA as a Python loop over
            the batch, K/V rearranged + repeated for every branch, eager, default SDPA.
  plain     (calibration row) batch-3 FLUX without LoRA and without cross attention, eager.

Per-step time: one transformer forward (CUDA events, warm-up, median of --repeats).
End-to-end: the IntrinsiXPipeline denoising loop of --steps steps (latents out), wall time.
Peak memory: resident weights of the configuration + peak activation memory of the run.
Difference: max |ours - baseline| of one forward and of the final latents (bf16 rounding differs).

Reproduce (GPU):   PYTHONPATH=<dev site> python bench/generate.py
Smoke test (CPU):  PYTHONPATH=<dev site> python bench/generate.py --tiny
(<dev site> from `source tools/dev_env.sh`, or an installed intrinsix.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

# `python bench/generate.py` puts bench/ first on sys.path, where bench/kernels.py would shadow the
# `kernels` package that transformers probes for at import time: take bench/ off the path.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import torch  # noqa: E402

from intrinsix.generator.attention import set_cross_intrinsic_attention  # noqa: E402
from intrinsix.generator.fusion import fuse_branch_qkv  # noqa: E402
from intrinsix.generator.latents import image_position_ids, text_position_ids  # noqa: E402
from intrinsix.generator.lora import add_branch_lora, branch_lora_modules, merge_branch_lora  # noqa: E402
from intrinsix.generator.pipeline import IntrinsiXPipeline  # noqa: E402
from intrinsix.generator.reference import PublishedCrossIntrinsicAttnProcessor, add_loop_lora  # noqa: E402
from intrinsix.generator.tiny import make_tiny_scheduler  # noqa: E402

FLUX_DEV = dict(patch_size=1, in_channels=64, num_layers=19, num_single_layers=38, attention_head_dim=128,
                num_attention_heads=24, joint_attention_dim=4096, pooled_projection_dim=768, guidance_embeds=True,
                axes_dims_rope=(16, 56, 56))
TINY = dict(FLUX_DEV, num_layers=2, num_single_layers=2, attention_head_dim=16, num_attention_heads=2,
            joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=(4, 6, 6))


def build_transformer(config: dict, device: torch.device, dtype: torch.dtype, seed: int):
    from diffusers import FluxTransformer2DModel

    torch.manual_seed(seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # initialise directly in the target dtype, on the device
    try:
        with torch.device(device):
            model = FluxTransformer2DModel(**config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval().requires_grad_(False)


def twin(model, config: dict):
    """A second transformer sharing every tensor of `model` (no copy)."""
    from diffusers import FluxTransformer2DModel

    with torch.device("meta"):
        other = FluxTransformer2DModel(**config)
    other.load_state_dict(model.state_dict(), assign=True)
    return other.eval().requires_grad_(False)


def random_lora(model, rank: int, seed: int) -> tuple[dict, dict]:
    """down ~ N(0, 1/r) (std), up ~ N(0, 1e-3) per adapted projection, stacked [3, ...]."""
    from intrinsix.generator.lora import adapted_linear_names

    g = torch.Generator(device=model.device).manual_seed(seed)
    downs, ups = {}, {}
    for name in adapted_linear_names(model):
        linear = model.get_submodule(name)
        w = linear.weight
        downs[name] = torch.randn(3, rank, linear.in_features, generator=g, device=w.device).to(w.dtype) / rank
        ups[name] = (torch.randn(3, linear.out_features, rank, generator=g, device=w.device) * 1e-3).to(w.dtype)
    return downs, ups


def tensor_bytes(tensors) -> int:
    seen, total = set(), 0
    for t in tensors:  # views of one storage (fused q/k/v slices) count once
        if t is None or t.untyped_storage().data_ptr() in seen:
            continue
        seen.add(t.untyped_storage().data_ptr())
        total += t.untyped_storage().nbytes()
    return total


def model_bytes(model) -> int:
    return tensor_bytes(list(model.parameters()) + list(model.buffers()))


class Timer:
    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def __call__(self, fn, warmup: int, repeats: int) -> list[float]:
        """Milliseconds of each timed call of fn()."""
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            if self.cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
        return times


def sdpa_context(backend):
    import contextlib

    if backend is None:
        return contextlib.nullcontext()
    from torch.nn.attention import sdpa_kernel

    return sdpa_kernel([backend])


def pick_attention_backend(device, dtype, heads, head_dim, tokens, timer) -> tuple[object, dict]:
    """Time the single-block cross-intrinsic attention shape with each fused SDPA backend."""
    if device.type != "cuda":
        return None, {}
    from torch.nn.attention import SDPBackend

    q = torch.randn(1, heads, 3 * tokens, head_dim, device=device, dtype=dtype)
    k, v = torch.randn_like(q), torch.randn_like(q)
    results = {}
    for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION):
        try:
            with sdpa_context(backend):
                ms = statistics.median(timer(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v), 2, 5))
            results[backend.name] = ms
        except RuntimeError:
            continue
    best = min(results, key=results.get)
    return getattr(SDPBackend, best), results


def forward_inputs(config, size, device, dtype, seed):
    g = torch.Generator(device=device).manual_seed(seed)
    h = w = size // 8
    tokens = (h // 2) * (w // 2)
    text = 512 if config is FLUX_DEV else 32
    embeds = torch.randn(1, text, config["joint_attention_dim"], generator=g, device=device).to(dtype)
    pooled = torch.randn(1, config["pooled_projection_dim"], generator=g, device=device).to(dtype)
    return dict(
        hidden_states=torch.randn(3, tokens, 64, generator=g, device=device).to(dtype),
        encoder_hidden_states=embeds.expand(3, -1, -1), pooled_projections=pooled.expand(3, -1),
        timestep=torch.full((3,), 0.7, device=device, dtype=dtype),
        guidance=torch.full((3,), 3.5, device=device, dtype=torch.float32),
        txt_ids=text_position_ids(text, device=device), img_ids=image_position_ids(h, w, device=device),
        return_dict=False), (embeds, pooled)


def end_to_end(model, embeds, size, steps, device, backend) -> tuple[float, float, torch.Tensor]:
    """(seconds, peak activation GiB, final latents) of one pipeline run with latents output."""
    pipe = IntrinsiXPipeline(make_tiny_scheduler(), None, None, None, None, None, model)
    pipe.set_progress_bar_config(disable=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated() if device.type == "cuda" else 0
    t0 = time.perf_counter()
    with sdpa_context(backend):
        out = pipe(prompt_embeds=embeds[0], pooled_prompt_embeds=embeds[1], height=size, width=size,
                   num_inference_steps=steps, generator=torch.Generator().manual_seed(7), output_type="latent")
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    peak = (torch.cuda.max_memory_allocated() - base) / 2**30 if device.type == "cuda" else float("nan")
    return seconds, peak, out.latents


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny transformer, CPU-friendly smoke run")
    parser.add_argument("--sizes", type=int, nargs="+", help="image sizes (default 512 1024; tiny: 64)")
    parser.add_argument("--steps", type=int, help="denoising steps end to end (default 28; tiny: 2)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--rank", type=int, default=64)
    parser.add_argument("--no-compile", action="store_true", help="ours without torch.compile")
    parser.add_argument("--eager-row", action="store_true", help="also time ours without torch.compile")
    parser.add_argument("--batched-row", action="store_true",
                        help="also time ours in batched (unmerged, memory-light) LoRA mode")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain-FLUX calibration row")
    parser.add_argument("--json", help="write the raw numbers to this file")
    args = parser.parse_args(argv)

    device = torch.device("cuda" if torch.cuda.is_available() and not args.tiny else "cpu")
    config = TINY if args.tiny else FLUX_DEV
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    sizes = args.sizes or ([64] if args.tiny else [512, 1024])
    steps = args.steps or (2 if args.tiny else 28)
    repeats, warmup = (2, 1) if args.tiny else (args.repeats, args.warmup)
    rank = min(args.rank, 4) if args.tiny else args.rank
    compile_ours = device.type == "cuda" and not args.no_compile
    timer = Timer(device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True

    t0 = time.perf_counter()
    ours = build_transformer(config, device, dtype, seed=0)
    baseline, plain = twin(ours, config), twin(ours, config)
    batched = twin(ours, config) if args.batched_row else None
    downs, ups = random_lora(ours, rank, seed=1)
    for model in (ours, batched):
        if model is None:
            continue
        add_branch_lora(model, rank=rank)
        with torch.no_grad():
            for name, layer in branch_lora_modules(model).items():
                layer.lora_down.copy_(downs[name])
                layer.lora_up.copy_(ups[name])
        set_cross_intrinsic_attention(model)
    merge_branch_lora(ours)
    fuse_branch_qkv(ours)
    if batched is not None and compile_ours:
        batched.compile_repeated_blocks(dynamic=False)
    add_loop_lora(baseline, downs, ups)
    baseline.set_attn_processor(PublishedCrossIntrinsicAttnProcessor())
    eager_ours = None
    if args.eager_row and compile_ours:
        eager_ours = ours  # same module tree, timed before compiling (see below)
    setup_s = time.perf_counter() - t0
    weights = {"ours": model_bytes(ours) / 2**30, "baseline": model_bytes(baseline) / 2**30,
               "plain": model_bytes(plain) / 2**30}
    if batched is not None:
        weights["ours_batched"] = model_bytes(batched) / 2**30
    print(f"device {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, torch {torch.__version__}, "
          f"dtype {dtype}, setup {setup_s:.1f} s, weights GiB: " + ", ".join(f"{k} {v:.2f}" for k, v in weights.items()),
          flush=True)

    rows, raw = [], {"sizes": {}, "weights_gib": weights}
    for size in sizes:
        inputs, embeds = forward_inputs(config, size, device, dtype, seed=size)
        tokens = (size // 16) ** 2 + inputs["encoder_hidden_states"].shape[1]
        backend, probe = pick_attention_backend(device, dtype, config["num_attention_heads"],
                                                config["attention_head_dim"], tokens, timer)
        entry = {"attention_probe_ms": probe, "ours_attention_backend": getattr(backend, "name", "default")}
        print(f"{size}^2: attention probe (ms) {probe} -> ours uses {entry['ours_attention_backend']}", flush=True)
        with torch.no_grad():
            if eager_ours is not None and size == sizes[0]:
                with sdpa_context(backend):
                    entry["ours_eager_step_ms"] = statistics.median(timer(lambda: ours(**inputs), warmup, repeats))
                print(f"  ours eager step {entry['ours_eager_step_ms']:.1f} ms", flush=True)
            if compile_ours and not getattr(ours, "_intrinsix_compiled", False):
                ours.compile_repeated_blocks(dynamic=False)
                ours._intrinsix_compiled = True
            with sdpa_context(backend):
                c0 = time.perf_counter()
                out_ours = ours(**inputs)[0]
                entry["ours_first_call_s"] = time.perf_counter() - c0
                ours_ms = timer(lambda: ours(**inputs), warmup, repeats)
            base_ms = timer(lambda: baseline(**inputs), warmup, repeats)
            out_base = baseline(**inputs)[0]
            if not args.no_plain:
                entry["plain_step_ms"] = statistics.median(timer(lambda: plain(**inputs), warmup, repeats))
            if batched is not None:
                with sdpa_context(backend):
                    batched(**inputs)  # compiles
                    entry["ours_batched_step_ms"] = statistics.median(timer(lambda: batched(**inputs), warmup, repeats))
        diff = (out_ours.float() - out_base.float()).abs().max().item()
        scale = out_base.float().abs().max().item()
        entry.update(ours_step_ms=statistics.median(ours_ms), baseline_step_ms=statistics.median(base_ms),
                     forward_max_abs_diff=diff, forward_max_abs=scale,
                     finite=bool(torch.isfinite(out_ours).all() and torch.isfinite(out_base).all()))
        print(f"  step ms: ours {entry['ours_step_ms']:.1f}, baseline {entry['baseline_step_ms']:.1f}"
              + (f", plain {entry['plain_step_ms']:.1f}" if "plain_step_ms" in entry else "")
              + (f", ours batched-LoRA {entry['ours_batched_step_ms']:.1f}" if "ours_batched_step_ms" in entry else "")
              + f"; forward max|diff| {diff:.3g} (max|out| {scale:.3g})", flush=True)

        e2e_ours, peak_ours, lat_ours = end_to_end(ours, embeds, size, steps, device, backend)
        e2e_base, peak_base, lat_base = end_to_end(baseline, embeds, size, steps, device, None)
        latent_diff = (lat_ours.float() - lat_base.float()).abs().max().item()
        entry.update(ours_e2e_s=e2e_ours, baseline_e2e_s=e2e_base, ours_peak_gib=weights["ours"] + peak_ours,
                     baseline_peak_gib=weights["baseline"] + peak_base, latents_max_abs_diff=latent_diff,
                     latents_max_abs=lat_base.float().abs().max().item())
        raw["sizes"][size] = entry
        rows += [
            (f"{size}^2 transformer step (ms, median)", entry["ours_step_ms"], entry["baseline_step_ms"]),
            (f"{size}^2 end to end, {steps} steps (s)", e2e_ours, e2e_base),
            (f"{size}^2 peak memory (GiB)", entry["ours_peak_gib"], entry["baseline_peak_gib"]),
        ]
        print(f"  e2e s: ours {e2e_ours:.2f}, baseline {e2e_base:.2f}; final latents max|diff| {latent_diff:.3g}",
              flush=True)

    print()
    print(f"{'workload':<42} | {'ours':>10} | {'baseline':>10} | {'ratio':>7}")
    print("-" * 79)
    for name, ours_v, base_v in rows:
        print(f"{name:<42} | {ours_v:>10.3f} | {base_v:>10.3f} | {base_v / ours_v:>6.2f}x")
    for size, entry in raw["sizes"].items():
        extra = f", plain FLUX batch-3 step {entry['plain_step_ms']:.1f} ms" if "plain_step_ms" in entry else ""
        if "ours_batched_step_ms" in entry:
            extra += f", ours in batched (unmerged) LoRA mode {entry['ours_batched_step_ms']:.1f} ms/step"
        print(f"{size}^2: forward max|diff| {entry['forward_max_abs_diff']:.3g} of max|out| "
              f"{entry['forward_max_abs']:.3g}; final latents max|diff| {entry['latents_max_abs_diff']:.3g} of "
              f"{entry['latents_max_abs']:.3g}; attention {entry['ours_attention_backend']}{extra}")
    print("ratio = baseline / ours (higher is better for ours). baseline = published structure.")
    print("reproduce: python bench/generate.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
