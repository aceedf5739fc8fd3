"""The model side of the server, as an interface: what a worker calls to turn parameters into an
`ExportResult` (files of `intrinsix.pbr.files`).

One backend instance serves one device and is only ever called from that device's worker thread,
one job at a time. `load()` is slow (weights to the device); the server reports NOT_SERVING until
every backend has loaded. `describe()` must work before `load()`.

Progress, previews and cancellation are callbacks the backend calls from its worker thread:
  on_progress(stage, step, total)            stage from `progress_stages(kind)`, 1 <= step <= total
  on_preview(step, total, {branch: png})     branch in BRANCHES, PNG bytes (8-bit RGB)
  is_cancelled() -> bool                     checked at every denoising step; when True the backend
                                             raises JobCancelled as soon as it can
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from intrinsix.pbr.files import ExportResult

BRANCHES = ("albedo", "material", "normal")
PROFILES = ("unreal", "godot", "gltf", "unity", "raw")
KIND_GENERATE = "generate"
KIND_TEXTURE_ROOM = "texture_room"

ProgressFn = Callable[[str, int, int], None]
PreviewFn = Callable[[int, int, Mapping[str, bytes]], None]
CancelledFn = Callable[[], bool]


class JobCancelled(Exception):
    """Raised by a backend when `is_cancelled()` turned True; the server decides the final state
    (CANCELLED for CancelJob, FAILED for a passed deadline, INTERRUPTED for shutdown)."""


class RoomTexturingUnavailable(RuntimeError):
    """This backend cannot texture rooms (the room texturer is not part of this build)."""


@dataclass(frozen=True)
class GenerateParams:
    """A text -> texture-set job with every default resolved (what the backend runs)."""

    prompt: str | tuple[str, str, str]  # one prompt, or (albedo, material, normal) prompts
    negative_prompt: str | None
    seed: int  # 0 .. 2**64 - 1
    steps: int  # denoising steps
    guidance: float  # embedded guidance scale
    true_cfg_scale: float  # 1 = off; > 1 = true classifier-free guidance with negative_prompt
    width: int  # pixels, multiple of 16
    height: int
    tileable: bool
    profile: str  # one of PROFILES
    formats: tuple[str, ...]  # preferred encodings, most preferred first: "png8", "png16", "glb", "gltf"
    material_name: str  # letters, digits, '_', '-'
    preview_every: int  # 0 = no previews
    preview_size: int  # longest preview side, pixels


@dataclass(frozen=True)
class RoomParams:
    """A mesh + text -> UV texture-set job with every default resolved."""

    prompt: str | tuple[str, str, str]
    negative_prompt: str | None
    seed: int
    steps: int
    guidance: float
    true_cfg_scale: float
    texture_size: int  # square UV maps, pixels
    profile: str
    formats: tuple[str, ...]
    material_name: str
    preview_every: int
    preview_size: int


@dataclass(frozen=True)
class RoomMesh:
    """A validated uploaded mesh (`intrinsix.server.mesh.parse_raw_mesh`)."""

    positions: np.ndarray  # [V, 3] float32, finite, metres, +Y up
    triangles: np.ndarray  # [F, 3] int64, each in [0, V)
    uvs: np.ndarray | None  # [V, 2] float32 finite, or None (the texturer makes an atlas)


@dataclass(frozen=True)
class ModelDescription:
    """What a backend runs and its defaults for fields a request leaves unset."""

    name: str
    description: str
    default_steps: int
    default_guidance: float
    default_width: int
    default_height: int
    supports_tiling: bool
    supports_room_texturing: bool
    # Generation's true classifier-free guidance when a request leaves true_cfg_scale unset (1 = off;
    # above 1 the empty prompt is the negative unless the request names one). Rooms use the texturer's.
    default_true_cfg_scale: float = 1.0


@runtime_checkable
class TextureBackend(Protocol):
    def load(self) -> None:
        """Load weights onto the device (slow). Called once, from the worker thread."""

    def describe(self) -> ModelDescription:
        """Model name and defaults; cheap, valid before load()."""

    def progress_stages(self, kind: str) -> Sequence[tuple[str, float]]:
        """Ordered (stage, weight) pairs the backend reports for a job of `kind`
        (KIND_GENERATE or KIND_TEXTURE_ROOM); weights are relative, > 0."""

    def generate(self, params: GenerateParams, on_progress: ProgressFn, on_preview: PreviewFn,
                 is_cancelled: CancelledFn) -> ExportResult:
        """Text -> exported texture set. Raises JobCancelled, ValueError for parameters the model
        cannot run (reported as INVALID_ARGUMENT), anything else is an internal failure."""

    def texture_room(self, params: RoomParams, mesh: RoomMesh, on_progress: ProgressFn,
                     on_preview: PreviewFn, is_cancelled: CancelledFn) -> ExportResult:
        """Mesh + text -> UV texture set; raises RoomTexturingUnavailable where unsupported."""


# device ("cpu", "cuda:0") -> a backend for that device.
BackendFactory = Callable[[str], TextureBackend]
