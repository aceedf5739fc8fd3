"""Kernel benchmarks, ours vs the named baseline side by side in one process (GPU).

    python bench/kernels.py                 # everything
    python bench/kernels.py --only raster   # rasterize + interpolate vs nvdiffrast
    python bench/kernels.py --only shade    # shade fwd+bwd vs the PyTorch twin and the bandwidth floor

Method (device METHOD.md): correctness is checked first on the same inputs, timings use CUDA events
after warm-up and report the median of many repetitions. Prints one table per section:
workload | ours | baseline | ratio (baseline time / our time: > 1 means we are faster).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baselines import load_nvdiffrast  # noqa: E402
from scenes import grid_scene, room_views  # noqa: E402

from intrinsix.kernels import interpolate, rasterize  # noqa: E402


def time_cuda(fn, warmup: int = 5, reps: int = 30) -> float:
    """Median milliseconds of fn() over `reps` runs, each timed with CUDA events, after `warmup` runs."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def print_table(title: str, rows: list[tuple[str, float, float, str]], baseline_name: str, note: str = ""):
    print(f"\n## {title}")
    print(f"| workload | ours (ms) | {baseline_name} (ms) | ratio | check |")
    print("|---|---:|---:|---:|---|")
    for workload, ours, base, check in rows:
        print(f"| {workload} | {ours:.3f} | {base:.3f} | {base / ours:.2f}x | {check} |")
    if note:
        print(note)


def bench_raster(device) -> None:
    loaded = load_nvdiffrast()
    if loaded is None:
        print("nvdiffrast is not installed: raster section skipped (pip install diffrp-nvdiffrast)")
        return
    dr, ctx = loaded
    rows = []
    workloads = [
        ("524k tris @ 1024^2", lambda: grid_scene(512, device), 1024),
        ("524k tris @ 2048^2", lambda: grid_scene(512, device), 2048),
        ("2.1M tris @ 2048^2", lambda: grid_scene(1024, device), 2048),
    ]
    for name, make, res in workloads:
        clip, tri = make()
        attr = torch.rand(1, clip.shape[1], 8, device=device)

        def ours():
            r = rasterize(clip, tri, res)
            return interpolate(attr, r, tri)

        def theirs():
            r, _ = dr.rasterize(ctx, clip, tri, resolution=[res, res])
            return dr.interpolate(attr, r, tri)[0]

        agreement = _agreement(rasterize(clip, tri, res), dr.rasterize(ctx, clip, tri, resolution=[res, res])[0])
        rows.append((name + " + interp(8)", time_cuda(ours), time_cuda(theirs), agreement))

    # 16 views of a 200k-triangle room at 512^2: one mesh, per-view matrices.
    pos, tri, mvp = room_views(16, 200_000, device)
    attr = torch.rand(1, pos.shape[0], 8, device=device)
    pos_h = torch.cat([pos, torch.ones_like(pos[:, :1])], 1)

    def ours_room():
        r = rasterize(pos, tri, 512, mvp=mvp)
        return interpolate(attr, r, tri)

    def theirs_room():
        clip = torch.matmul(pos_h.unsqueeze(0), mvp.transpose(1, 2)).contiguous()
        r, _ = dr.rasterize(ctx, clip, tri, resolution=[512, 512])
        return dr.interpolate(attr, r, tri)[0]

    clip = torch.matmul(pos_h.unsqueeze(0), mvp.transpose(1, 2)).contiguous()
    agreement = _agreement(rasterize(pos, tri, 512, mvp=mvp), dr.rasterize(ctx, clip, tri, resolution=[512, 512])[0])
    rows.append((f"16 views x {tri.shape[0] / 1000:.0f}k-tri room @ 512^2 + interp(8)", time_cuda(ours_room),
                 time_cuda(theirs_room), agreement))
    print_table("rasterize + interpolate vs nvdiffrast RasterizeCudaContext", rows, "nvdiffrast",
                "check: share of covered pixels with the same triangle id as nvdiffrast")


def _agreement(ours: torch.Tensor, theirs: torch.Tensor) -> str:
    covered = (ours[..., 3] > 0) | (theirs[..., 3] > 0)
    same = ((ours[..., 3] == theirs[..., 3]) & covered).sum().item()
    return f"{same / max(1, covered.sum().item()):.4%} same id"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["raster", "shade"], default=None)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench/kernels.py needs a CUDA device", file=sys.stderr)
        return 2
    device = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    if args.only in (None, "raster"):
        bench_raster(device)
    if args.only in (None, "shade"):
        try:
            from shade_bench import bench_shade
        except ImportError as exc:
            print(f"shade section unavailable: {exc}")
        else:
            bench_shade(device, time_cuda, print_table)
    print("\nreproduce: python bench/kernels.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
