"""Room texturing: UV texture maps optimised by score distillation through the kernels' renderer.

    scene (UVs, texture sizes) -> RoomGeometry -> CameraPlan -> RoomTextures
    phase 1 ("texturing"):     albedo, roughness, metallic trained; the normal branch is held at
                               the rendered geometry normals (clean, timestep 0: the "cross" hook)
    phase 2 ("normal_detail"): the normal-detail map trained; albedo and material held at their
                               rendered maps
    -> seam dilation ("dilating") -> per-object maps (RoomTexturingResult)

Each iteration renders `views_per_iteration` of the chosen cameras (cycled in shuffled rounds, so
every camera is used once per round), evaluates `sds.score_distillation` and takes one Adam step.
The noise range anneals: t_high goes linearly from t_range[1] to t_anneal_to within each phase
(coarse structure first, then detail). Progress is reported as on_progress(stage, step, total),
the signature of the server backend's progress callback; stages are those of STAGES.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .atlas import prepare_scene
from .cameras import CameraPlan, clip_matrices, place_cameras, view_matrices
from .seams import dilate
from .geometry import build_geometry
from .render import render_views
from .scene import RoomScene
from .sds import SPACES, IntrinsicPrior, sample_sigmas, score_distillation
from .textures import InitialValues, RoomTextures

ITERATIONS_PER_STEP = 20
# True classifier-free guidance of the prior (against the empty prompt) for room texturing: the
# bundled demo model has no distilled guidance, and with guidance 1 its estimate of a render only
# leans toward the prompt; 5 made a room of boxes gold or red in 60 iterations (docs/room-texturing.md).
DEFAULT_TRUE_CFG_SCALE = 5.0
DEFAULT_ITERATIONS = 28 * ITERATIONS_PER_STEP  # 560: 28 server "steps" of 20 iterations
STAGES = ("cameras", "texturing", "normal_detail", "dilating")
# A per-object prompt is added to a view's prompt when the object covers this share of its pixels.
OBJECT_PROMPT_SHARE = 0.1

ProgressFn = Callable[[str, int, int], None]


@dataclass
class TexturingConfig:
    """Settings of one room-texturing run (defaults: FLUX.1-dev-sized model, 512^2 views).

    iterations: SDS iterations in all; `normal_fraction` of them train the normal detail.
    views_per_iteration: views rendered and scored together (one transformer batch of 3x rows).
    resolution: rendered view side in pixels (a multiple of 16; the model's training size).
    learning_rate, detail_learning_rate: Adam step sizes (texture values are in [0, 1]).
    t_range, t_anneal_to: noise-time range; t_high anneals to t_anneal_to within each phase (high
        noise: what the prompt asks for shows in the prior's estimate; at low noise it mostly
        returns the render as it is).
    space: "image" (the decoded estimate is the target of the rendered maps) or "latent"
        (classic SDS through the VAE encoder), see sds.py.
    texture_budget: total texels of all objects' maps (2048^2: 16 M texels over the room).
    max_cameras: views chosen by camera placement.  dilation: seam dilation passes (texels).
    seed: cameras order, noise and sigmas.
    """

    iterations: int = DEFAULT_ITERATIONS
    normal_fraction: float = 0.25
    views_per_iteration: int = 2
    resolution: int = 512
    learning_rate: float = 0.02
    detail_learning_rate: float = 0.01
    t_range: tuple[float, float] = (0.7, 0.98)
    t_anneal_to: float = 0.85
    space: str = "image"
    texture_budget: int = 2048 * 2048
    max_cameras: int = 24
    dilation: int = 16
    seed: int = 0
    initial: InitialValues = field(default_factory=InitialValues)

    def __post_init__(self):
        if not isinstance(self.iterations, int) or self.iterations < 1:
            raise ValueError(f"iterations must be an int >= 1, got {self.iterations!r}")
        if not 0.0 <= self.normal_fraction < 1.0:
            raise ValueError(f"normal_fraction must be in [0, 1), got {self.normal_fraction}")
        if not isinstance(self.resolution, int) or self.resolution < 16 or self.resolution % 16:
            raise ValueError(f"resolution must be a positive multiple of 16 pixels, got {self.resolution!r}")
        if self.views_per_iteration < 1:
            raise ValueError(f"views_per_iteration must be >= 1, got {self.views_per_iteration}")
        if self.space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {self.space!r}")
        low, high = self.t_range
        if not 0.0 < low <= self.t_anneal_to <= high < 1.0:
            raise ValueError(f"need 0 < t_range[0] <= t_anneal_to <= t_range[1] < 1, got t_range={self.t_range}, "
                             f"t_anneal_to={self.t_anneal_to}")

    @property
    def phase_iterations(self) -> tuple[int, int]:
        detail = int(round(self.iterations * self.normal_fraction))
        return self.iterations - detail, detail


@dataclass
class ObjectTextures:
    """Final maps of one object, float32 on the CPU, row 0 at v = 0, dilated outside the layout.

    albedo [s, s, 3] linear; roughness, metallic [s, s, 1]; normal [s, s, 3] unit, tangent space
    (OpenGL, +y = image up for the object's uv_origin). atlas, seen, touched: [s, s] bool (inside
    the UV layout / seen by a camera / received a gradient in phase 1).
    """

    name: str
    albedo: torch.Tensor
    roughness: torch.Tensor
    metallic: torch.Tensor
    normal: torch.Tensor
    atlas: torch.Tensor
    seen: torch.Tensor
    touched: torch.Tensor


@dataclass
class RoomTexturingResult:
    """scene: the prepared scene (UVs, texture sizes). objects: maps per object, scene order.
    plan: cameras and coverage. prompts: each camera's prompt. gradient_coverage: fraction of the
    texels seen by a camera that received a gradient in phase 1. timings: seconds per stage."""

    scene: RoomScene
    objects: list[ObjectTextures]
    plan: CameraPlan
    prompts: list[str]
    gradient_coverage: float
    timings: dict[str, float]
    config: TexturingConfig


def view_prompts(scene: RoomScene, plan: CameraPlan, prompt: str | tuple[str, str, str]) -> list:
    """Each camera's prompt: the room prompt, then the prompts of objects that fill at least
    OBJECT_PROMPT_SHARE of its pixels, largest first (per branch for a 3-tuple room prompt)."""
    prompts = []
    for shares in plan.shares.tolist():
        order = sorted(range(len(shares)), key=lambda k: -shares[k])
        extra = [scene.objects[k].prompt for k in order
                 if shares[k] >= OBJECT_PROMPT_SHARE and scene.objects[k].prompt]
        if isinstance(prompt, str):
            prompts.append(", ".join([prompt, *extra]))
        else:
            prompts.append(tuple(", ".join([p, *extra]) for p in prompt))
    return prompts


def _check_prompt(prompt) -> str | tuple[str, str, str]:
    if isinstance(prompt, str) and prompt.strip():
        return prompt.strip()
    if isinstance(prompt, (tuple, list)) and len(prompt) == 3 and all(isinstance(p, str) and p.strip() for p in prompt):
        return tuple(p.strip() for p in prompt)
    raise ValueError(f"prompt must be non-empty text describing the room, or 3 texts (albedo, material, normal), "
                     f"got {prompt!r}")


def _camera_schedule(count: int, total: int, generator: torch.Generator) -> list[int]:
    """`total` camera indices: shuffled rounds over all cameras."""
    order: list[int] = []
    while len(order) < total:
        order += torch.randperm(count, generator=generator).tolist()
    return order[:total]


@dataclass
class PreviewHook:
    """on_preview(iteration, total, rendered) every `every` iterations (counted over both phases),
    with camera 0 rendered at `size` pixels (RenderedViews, no gradient)."""

    on_preview: Callable
    every: int
    size: int = 128


def _run_phase(stage, iterations, free, textures, optimizer, geometry, clip, view, prompts, prior, config,
               schedule, generator, mu, touched, on_progress, preview=None, done=0):
    batch = config.views_per_iteration
    low, high = config.t_range
    train_surface = "albedo" in free
    for i in range(iterations):
        picks = schedule[i * batch:(i + 1) * batch]
        index = torch.tensor(picks, device=clip.device)
        maps = textures.maps(train_surface=train_surface, train_detail=not train_surface)
        rendered = render_views(geometry, maps, clip[index], view[index], config.resolution)
        images = {"albedo": rendered.albedo, "material": rendered.material, "normal": rendered.normal}
        progress = i / max(iterations - 1, 1)
        t_high = high + (config.t_anneal_to - high) * progress
        sigmas = sample_sigmas(len(picks), low, max(t_high, low), mu, generator)
        step = score_distillation(prior, images, free, sigmas, [prompts[p] for p in picks], generator,
                                  space=config.space)
        optimizer.zero_grad(set_to_none=True)
        step.loss.backward()
        if touched is not None:
            for k, parameter in enumerate(textures.surface):
                if parameter.grad is not None:
                    touched[k] |= parameter.grad.abs().sum(-1) > 0
        optimizer.step()
        textures.project_()
        if on_progress is not None:
            on_progress(stage, i + 1, iterations)
        if preview is not None and preview.every > 0 and (done + i + 1) % preview.every == 0:
            with torch.no_grad():
                shown = render_views(geometry, textures.maps(False, False), clip[:1], view[:1], preview.size)
            preview.on_preview(done + i + 1, config.iterations, shown)


def texture_room(
    scene: RoomScene,
    prior: IntrinsicPrior,
    prompt: str | tuple[str, str, str],
    config: TexturingConfig | None = None,
    device: str | torch.device | None = None,
    on_progress: ProgressFn | None = None,
    preview: PreviewHook | None = None,
) -> RoomTexturingResult:
    """Texture every object of `scene` so that renders of the room match `prompt` (one text, or
    albedo/material/normal texts) and the objects' own prompts under `prior`. See the module
    docstring; `device` defaults to the prior's. on_progress(stage, step, total) after every
    iteration and placement batch; `preview` renders camera 0 every so many iterations."""
    config = config or TexturingConfig()
    prompt = _check_prompt(prompt)
    device = torch.device(device if device is not None else getattr(prior, "device", "cpu"))
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    if any(o.uvs is None or o.texture_size is None for o in scene):
        scene = prepare_scene(scene, config.texture_budget)
    geometry = build_geometry(scene, device)
    timings["prepare"] = time.perf_counter() - clock

    clock = time.perf_counter()
    plan = place_cameras(geometry, render_resolution=config.resolution, max_cameras=config.max_cameras,
                         on_progress=on_progress)
    prompts = view_prompts(scene, plan, prompt)
    timings["cameras"] = time.perf_counter() - clock

    generator = torch.Generator().manual_seed(config.seed)
    textures = RoomTextures(geometry.texture_sizes, device, config.initial)
    clip = clip_matrices(plan.cameras, plan.near, plan.far, device)
    view = view_matrices(plan.cameras, device)
    mu = prior.timestep_shift(config.resolution, config.resolution)
    surface_iterations, detail_iterations = config.phase_iterations
    schedule = _camera_schedule(len(plan.cameras), config.iterations * config.views_per_iteration, generator)
    touched = [torch.zeros(s, s, dtype=torch.bool, device=device) for s in geometry.texture_sizes]

    clock = time.perf_counter()
    optimizer = torch.optim.Adam(textures.surface, lr=config.learning_rate)
    _run_phase("texturing", surface_iterations, ("albedo", "material"), textures, optimizer, geometry, clip, view,
               prompts, prior, config, schedule, generator, mu, touched, on_progress, preview, 0)
    timings["texturing"] = time.perf_counter() - clock
    clock = time.perf_counter()
    if detail_iterations:
        optimizer = torch.optim.Adam(textures.detail, lr=config.detail_learning_rate)
        rest = schedule[surface_iterations * config.views_per_iteration:]
        _run_phase("normal_detail", detail_iterations, ("normal",), textures, optimizer, geometry, clip, view,
                   prompts, prior, config, rest, generator, mu, None, on_progress, preview, surface_iterations)
    timings["normal_detail"] = time.perf_counter() - clock

    clock = time.perf_counter()
    objects = []
    seen_total = touched_seen = 0
    for k, obj in enumerate(scene):
        maps = textures.object_maps(k)
        atlas = plan.atlas[k]
        names = list(maps)
        stacked = dilate(torch.cat([maps[n] for n in names], dim=-1), atlas, config.dilation)  # all maps at once
        dilated = dict(zip(names, stacked.split([maps[n].shape[-1] for n in names], dim=-1)))
        normal = torch.nn.functional.normalize(dilated["normal"], dim=-1)
        seen = plan.seen[k]
        seen_total += int(seen.sum())
        touched_seen += int((seen & touched[k]).sum())
        objects.append(ObjectTextures(
            name=obj.name, albedo=dilated["albedo"].clamp(0, 1).cpu(), roughness=dilated["roughness"].clamp(0, 1).cpu(),
            metallic=dilated["metallic"].clamp(0, 1).cpu(), normal=normal.cpu(), atlas=atlas.cpu(), seen=seen.cpu(),
            touched=touched[k].cpu()))
        if on_progress is not None:
            on_progress("dilating", k + 1, len(scene))
    timings["dilating"] = time.perf_counter() - clock
    return RoomTexturingResult(scene=scene, objects=objects, plan=plan, prompts=prompts,
                               gradient_coverage=touched_seen / max(seen_total, 1), timings=timings, config=config)
