"""Stage-2 training step benchmark (issue 4): peak memory and seconds per sample.

One sample = one triple (albedo, material, normal) at 512^2 through exactly the computation of
`training.stage2.AlignTrainer.compute_loss`: VAE-encode the three maps, one shared sigma, the
IntrinsiX transformer with per-branch rank-64 LoRA and cross-intrinsic attention (CI-dropout 0.25),
flow loss, x0 = x_t - sigma * v decoded by the VAE decoder WITH gradients, re-render loss with 5
importance-sampled lights (kernels.shade + kernels.sample_lights), backward, AdamW step on the
LoRA parameters. Gradient checkpointing on the transformer and the VAE decoder.

Model: FLUX.1-dev-sized transformer (19 double + 38 single blocks, width 3072) and FLUX VAE
(16 latent channels), random weights in bf16 (frozen) with float32 LoRA; random prompt embeddings of
the real shapes ([1, 512, 4096], pooled [1, 768]) stand in for the frozen text encoders, whose cost
is outside the step in the published code as well (captions can be pre-encoded).

Published (REFERENCE.md section 3): about 80 GB and about 8 s per sample on an A100.
Target: <= 48 GB peak and <= 3 s per sample on one H100.

    python bench/train_stage2.py            # GPU
    python bench/train_stage2.py --tiny     # CPU smoke run (tiny sizes)
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

# bench/ first on sys.path would let bench/kernels.py shadow the `kernels` package transformers probes for.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import torch  # noqa: E402

from intrinsix.generator.attention import set_cross_intrinsic_attention  # noqa: E402
from intrinsix.generator.lora import add_branch_lora, branch_lora_parameters  # noqa: E402
from intrinsix.training.components import decode_intrinsics, to_vae_input  # noqa: E402
from intrinsix.training.flow import flow_loss, flow_target, noisy_latents, predict_velocity, predict_x0  # noqa: E402
from intrinsix.training.rerender import rerender_loss  # noqa: E402
from intrinsix.training.stage2 import TRAINING_SDPA_BACKENDS  # noqa: E402

BRANCHES = ("albedo", "material", "normal")
FLUX_VAE = dict(in_channels=3, out_channels=3, latent_channels=16, block_out_channels=(128, 256, 512, 512),
                down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                layers_per_block=2, scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False,
                use_post_quant_conv=False)
TINY_VAE = dict(FLUX_VAE, block_out_channels=(8, 8, 8, 8), layers_per_block=1, norm_num_groups=4)


def _generate_bench():
    spec = importlib.util.spec_from_file_location("intrinsix_bench_generate", Path(__file__).with_name("generate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic_maps(size: int, device) -> dict[str, torch.Tensor]:
    """Smooth random maps of the right ranges ([1, H, W, 3]; normals unit, facing the camera)."""
    g = torch.Generator(device="cpu").manual_seed(0)
    low = torch.rand(1, 3, 16, 16, generator=g)
    up = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    albedo = up.permute(0, 2, 3, 1)
    material = torch.cat([up[:, :2], torch.zeros_like(up[:, :1])], 1).permute(0, 2, 3, 1)
    normal = torch.nn.functional.normalize((up - 0.5).permute(0, 2, 3, 1) * torch.tensor([0.6, 0.6, 0.0])
                                           + torch.tensor([0.0, 0.0, 1.0]), dim=-1)
    return {"albedo": albedo.to(device), "material": material.to(device), "normal": normal.to(device)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny model (smoke run; on the CPU unless --device cuda)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available, cpu with --tiny)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=6, help="timed steps (after 2 warm-up steps)")
    args = parser.parse_args()
    from diffusers import AutoencoderKL

    gen = _generate_bench()
    if args.device is None:
        args.device = "cpu" if args.tiny or not torch.cuda.is_available() else "cuda"
    device = torch.device(args.device)
    dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    size = 64 if args.tiny and device.type == "cpu" else args.size
    config = gen.TINY if args.tiny else gen.FLUX_DEV
    transformer = gen.build_transformer(config, device, dtype, seed=0)
    add_branch_lora(transformer, rank=4 if args.tiny else 64)
    for p in branch_lora_parameters(transformer):
        p.data = p.data.float()
        p.requires_grad_(True)
    set_cross_intrinsic_attention(transformer, dropout_p=0.25, sdpa_backends=TRAINING_SDPA_BACKENDS)
    transformer.train()
    transformer.enable_gradient_checkpointing()
    torch.manual_seed(1)
    vae = AutoencoderKL(**(TINY_VAE if args.tiny else FLUX_VAE)).to(device, dtype).requires_grad_(False)
    vae.enable_gradient_checkpointing()
    vae.train()  # checkpointing in diffusers is active in training mode (no dropout in the VAE)
    optimizer = torch.optim.AdamW(branch_lora_parameters(transformer), lr=1e-4, weight_decay=1e-4)
    embed_dim, pooled_dim = config["joint_attention_dim"], config["pooled_projection_dim"]
    embeds = torch.randn(3, 512 if not args.tiny else 16, embed_dim, device=device, dtype=dtype)
    pooled = torch.randn(3, pooled_dim, device=device, dtype=dtype)
    maps = synthetic_maps(size, device)
    with torch.no_grad():
        pixels = torch.cat([to_vae_input(b, maps[b]) for b in BRANCHES]).to(dtype)
        x0 = (vae.encode(pixels).latent_dist.mean.float() - vae.config.shift_factor) * vae.config.scaling_factor
    generator = torch.Generator(device=device)

    def step(index: int) -> dict:
        sigma = torch.full((3,), 0.2 + 0.6 * ((index * 0.37) % 1.0), device=device)  # one sigma per triple
        noise = torch.randn_like(x0)
        x_t = noisy_latents(x0, noise, sigma)
        velocity = predict_velocity(transformer, x_t, sigma, embeds, pooled, 1.0, dtype)
        flow = flow_loss(velocity, flow_target(x0, noise))
        pred = decode_intrinsics(vae, predict_x0(x_t, velocity, sigma))
        generator.manual_seed(index)
        terms = rerender_loss(pred, maps, num_lights=5, generator=generator)
        loss = flow + terms["rerender"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return {"loss": float(loss), "flow": float(flow), "rerender": float(terms["rerender"])}

    for i in range(2):
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times, last = [], {}
    for i in range(args.steps):
        start = time.perf_counter()
        last = step(100 + i)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    print(f"device: {name}; {'tiny' if args.tiny else 'FLUX.1-dev-sized'} transformer + VAE, {size}^2, "
          f"1 triple per step, gradient checkpointing, CI-dropout 0.25, 5 lights")
    print("| workload | ours | published (A100) | target (H100) |")
    print("|---|---:|---:|---:|")
    print(f"| stage-2 step, seconds per sample (median of {args.steps}) | {seconds:.2f} s | ~8 s | <= 3 s |")
    print(f"| peak GPU memory | {peak:.1f} GiB | ~80 GB | <= 48 GB |")
    print(f"last step losses: {last}")
    print("reproduce: python bench/train_stage2.py")
    assert all(v == v for v in last.values()), "NaN loss"
    return 0


if __name__ == "__main__":
    sys.exit(main())
