"""Where our rasterizer and nvdiffrast disagree, by cause (GPU).

    python bench/raster_agreement.py

For each workload: share of covered pixels with the same triangle id, and the disagreeing pixels
split into coverage differences (only one rasterizer drew the pixel), tie/edge differences (both
drew it, with triangles that share an edge or a vertex) and depth-order differences (both drew it,
with unrelated triangles: the nearest one was decided differently).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import load_nvdiffrast  # noqa: E402
from scenes import grid_scene, room_views  # noqa: E402

from intrinsix.kernels import rasterize  # noqa: E402


def breakdown(ours: torch.Tensor, theirs: torch.Tensor, tri: torch.Tensor) -> str:
    a, b = ours[..., 3].long(), theirs[..., 3].long()
    covered = (a > 0) | (b > 0)
    differ = (a != b) & covered
    only_one = differ & ((a == 0) | (b == 0))
    both = differ & (a > 0) & (b > 0)
    ta, tb = tri[(a[both] - 1)].long(), tri[(b[both] - 1)].long()
    shared = (ta.unsqueeze(-1) == tb.unsqueeze(-2)).any(-1).any(-1)
    n = covered.sum().item()
    return (f"same id {1 - differ.sum().item() / n:.4%} | coverage-only {only_one.sum().item() / n:.4%} | "
            f"adjacent {shared.sum().item() / n:.4%} | depth-order {(~shared).sum().item() / n:.4%} | covered {n}")


def main() -> int:
    dr, ctx = load_nvdiffrast()
    device = torch.device("cuda")
    for name, (clip, tri), res in [
        ("524k @ 1024", grid_scene(512, device), 1024),
        ("2.1M @ 2048", grid_scene(1024, device), 2048),
    ]:
        ours = rasterize(clip, tri, res)
        theirs, _ = dr.rasterize(ctx, clip, tri, resolution=[res, res])
        print(f"{name}: {breakdown(ours, theirs, tri)}")
    pos, tri, mvp = room_views(16, 200_000, device)
    clip = torch.matmul(torch.cat([pos, torch.ones_like(pos[:, :1])], 1).unsqueeze(0), mvp.transpose(1, 2)).contiguous()
    ours = rasterize(clip, tri, 512)
    theirs, _ = dr.rasterize(ctx, clip, tri, resolution=[512, 512])
    print(f"room 16 views @ 512: {breakdown(ours, theirs, tri)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
