"""Request validation: protocol messages -> backend parameters with every default resolved.

Every refusal is an `InvalidArgument` whose message starts with the field path
(`params.width: ...`) and states the allowed range; the service answers it with INVALID_ARGUMENT.
Nothing from a request reaches the file system: job ids must be server-made hex ids and material
names are restricted to letters, digits, '_' and '-'.
"""

from __future__ import annotations

import math
import re
import secrets
import unicodedata

from intrinsix.pbr.names import MAX_NAME_LENGTH, material_name_from_prompt

from .backend import GenerateParams, ModelDescription, RoomParams
from .config import Limits
from .protocol import (
    FORMAT_FROM_ENUM,
    PROFILE_FROM_ENUM,
    enum_choices,
    job_pb2,
    service_pb2,
    texture_pb2,
)

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
# The rule of intrinsix.pbr.names.check_material_name: an identifier, never a path.
_MATERIAL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# Encodings a client can choose between (job.proto, GenerateParams.formats).
CHOOSABLE_FORMATS = ("png8", "png16", "glb", "gltf")
DEFAULT_PREVIEW_SIZE = 128
MIN_PREVIEW_SIZE = 16


class InvalidArgument(ValueError):
    """A request field is invalid; str() is the message sent to the client."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def _shown(value: str, limit: int = 60) -> str:
    """A request string quoted for an error message, shortened."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def check_text(value: str, field: str, max_chars: int, required: bool) -> str:
    """A prompt-like text: length in range, no control characters except tab and newlines."""
    low = 1 if required else 0
    if required and not value.strip():
        raise InvalidArgument(field, f"must not be empty or only whitespace; allowed {low}..{max_chars} characters")
    if len(value) > max_chars:
        raise InvalidArgument(field, f"{len(value)} characters is too long; allowed {low}..{max_chars} characters")
    for position, ch in enumerate(value):
        if ch not in "\t\n\r" and unicodedata.category(ch) == "Cc":
            raise InvalidArgument(field, f"control character U+{ord(ch):04X} at position {position} is not allowed")
    return value


def check_job_id(job_id: str, field: str = "job_id") -> str:
    if not JOB_ID.match(job_id):
        raise InvalidArgument(field, f"{_shown(job_id)} is not a job id; job ids are 32 lowercase hex digits")
    return job_id


def check_client_request_id(value: str, limits: Limits, field: str = "client_request_id") -> str:
    if len(value) > limits.max_client_request_id_chars:
        raise InvalidArgument(field, f"{len(value)} characters is too long; allowed "
                                     f"0..{limits.max_client_request_id_chars} printable ASCII characters")
    if any(not (0x20 <= ord(ch) <= 0x7E) for ch in value):
        raise InvalidArgument(field, f"{_shown(value)} has a character outside printable ASCII (0x20..0x7E)")
    return value


def _check_range(value: float, field: str, low: float, high: float, unit: str = "") -> None:
    if not (low <= value <= high):
        raise InvalidArgument(field, f"{value:g} is out of range; allowed {low:g}..{high:g}{unit}")


def _check_size(value: int, field: str, limits: Limits) -> int:
    if not (limits.min_size <= value <= limits.max_size) or value % limits.size_multiple:
        raise InvalidArgument(field, f"{value} is out of range; allowed {limits.min_size}..{limits.max_size} "
                                     f"pixels in multiples of {limits.size_multiple}")
    return value


# Room texturing's default true classifier-free guidance (against the empty prompt): the value of
# `intrinsix.texturing.optimize.DEFAULT_TRUE_CFG_SCALE`, repeated here so that validation stays
# free of torch (a test checks that the two agree).
ROOM_TRUE_CFG_SCALE = 5.0


def _common(params, prefix: str, limits: Limits, model: ModelDescription, room: bool = False) -> dict:
    """Fields shared by GenerateParams and RoomParams (same names in both messages). Fills the
    defaults into `params` (a copy) and returns the backend-side values. Rooms (`room`) default to
    true CFG ROOM_TRUE_CFG_SCALE, and their negative prompt may be empty (the unconditional prompt).
    Generation defaults to the model's `default_true_cfg_scale`; a request that sets true_cfg_scale
    above 1 itself must name its negative prompt, one that takes the model's default above 1 guides
    against the empty prompt unless it names one."""
    if params.branch_prompts:
        if len(params.branch_prompts) != 3:
            raise InvalidArgument(f"{prefix}.branch_prompts", f"{len(params.branch_prompts)} prompts given; give "
                                  "exactly 3 (albedo, material, normal) or none")
        if params.prompt:
            raise InvalidArgument(f"{prefix}.prompt", "give either prompt or branch_prompts, not both")
        prompt: str | tuple[str, str, str] = tuple(
            check_text(p, f"{prefix}.branch_prompts[{i}]", limits.max_prompt_chars, True)
            for i, p in enumerate(params.branch_prompts))
        name_source = params.branch_prompts[0]
    else:
        prompt = check_text(params.prompt, f"{prefix}.prompt", limits.max_prompt_chars, True)
        name_source = prompt
    negative = check_text(params.negative_prompt, f"{prefix}.negative_prompt", limits.max_prompt_chars, False)

    if not params.HasField("seed"):
        params.seed = secrets.randbits(63)
    if params.HasField("steps"):
        _check_range(params.steps, f"{prefix}.steps", limits.min_steps, limits.max_steps, " steps")
    else:
        params.steps = min(max(model.default_steps, limits.min_steps), limits.max_steps)
    if params.HasField("guidance"):
        if not math.isfinite(params.guidance):
            raise InvalidArgument(f"{prefix}.guidance", f"{params.guidance} is not a number; allowed 0..{limits.max_guidance:g}")
        _check_range(round(params.guidance, 6), f"{prefix}.guidance", 0, limits.max_guidance)
    else:
        params.guidance = model.default_guidance

    if params.profile == texture_pb2.EXPORT_PROFILE_UNSPECIFIED:
        raise InvalidArgument(f"{prefix}.profile", f"required; allowed {enum_choices(texture_pb2.ExportProfile)}")
    if params.profile not in PROFILE_FROM_ENUM:
        raise InvalidArgument(f"{prefix}.profile", f"unknown value {params.profile}; allowed "
                                                   f"{enum_choices(texture_pb2.ExportProfile)}")
    formats = []
    allowed_formats = ", ".join(f"{n.upper()} ({texture_pb2.FileFormat.Value('FILE_FORMAT_' + n.upper())})"
                                for n in CHOOSABLE_FORMATS)
    for i, value in enumerate(params.formats):
        name = FORMAT_FROM_ENUM.get(value)
        if name not in CHOOSABLE_FORMATS:
            shown = f"unknown value {value}" if name is None else f"{name.upper()} is not a choosable format"
            raise InvalidArgument(f"{prefix}.formats[{i}]", f"{shown}; allowed {allowed_formats}")
        if name not in formats:
            formats.append(name)

    max_name = min(limits.max_material_name_chars, MAX_NAME_LENGTH)
    if params.material_name:
        if len(params.material_name) > max_name or not _MATERIAL_NAME.match(params.material_name):
            raise InvalidArgument(f"{prefix}.material_name", f"{_shown(params.material_name)} is not allowed; use "
                                  f"1..{max_name} ASCII letters, digits and '_', starting with a letter")
    else:
        params.material_name = material_name_from_prompt(name_source)[:max_name]

    cfg_given = params.HasField("true_cfg_scale")
    if cfg_given:
        if not math.isfinite(params.true_cfg_scale):
            raise InvalidArgument(f"{prefix}.true_cfg_scale", f"{params.true_cfg_scale} is not a number; "
                                                              f"allowed 1..{limits.max_guidance:g}")
        _check_range(round(params.true_cfg_scale, 6), f"{prefix}.true_cfg_scale", 1, limits.max_guidance)
    else:
        # The model's default (FLUX.1-dev: 1 = off; the demo model guides against the empty prompt).
        params.true_cfg_scale = ROOM_TRUE_CFG_SCALE if room else model.default_true_cfg_scale
    if cfg_given and params.true_cfg_scale > 1 and not negative and not room:
        raise InvalidArgument(f"{prefix}.negative_prompt", "required when true_cfg_scale > 1 (true classifier-free "
                                                           f"guidance); allowed 1..{limits.max_prompt_chars} characters")
    if negative and params.true_cfg_scale <= 1:
        raise InvalidArgument(f"{prefix}.true_cfg_scale", "must be > 1 when negative_prompt is given (the negative "
                                                          f"prompt is used only by true classifier-free guidance); "
                                                          f"allowed 1..{limits.max_guidance:g}")

    if params.preview_every > params.steps:
        raise InvalidArgument(f"{prefix}.preview_every", f"{params.preview_every} is out of range; allowed "
                              f"0..{params.steps} (0 = no previews, at most steps)")
    if params.HasField("preview_size"):
        _check_range(params.preview_size, f"{prefix}.preview_size", MIN_PREVIEW_SIZE, limits.max_preview_size, " pixels")
    else:
        params.preview_size = min(DEFAULT_PREVIEW_SIZE, limits.max_preview_size)

    return dict(
        prompt=prompt, negative_prompt=negative or None, seed=params.seed, steps=params.steps,
        guidance=float(params.guidance), true_cfg_scale=float(params.true_cfg_scale), profile=PROFILE_FROM_ENUM[params.profile], formats=tuple(formats),
        material_name=params.material_name, preview_every=params.preview_every,
        preview_size=params.preview_size)


def validate_generate(request: service_pb2.GenerateRequest, limits: Limits,
                      model: ModelDescription) -> tuple[GenerateParams, job_pb2.GenerateParams]:
    """Backend parameters and the resolved protocol parameters (stored with the job)."""
    check_client_request_id(request.client_request_id, limits)
    if not request.HasField("params"):
        raise InvalidArgument("params", "required")
    resolved = job_pb2.GenerateParams()
    resolved.CopyFrom(request.params)
    values = _common(resolved, "params", limits, model)
    if resolved.HasField("width"):
        _check_size(resolved.width, "params.width", limits)
    else:
        resolved.width = model.default_width
    if resolved.HasField("height"):
        _check_size(resolved.height, "params.height", limits)
    else:
        resolved.height = model.default_height
    if resolved.tileable and not model.supports_tiling:
        raise InvalidArgument("params.tileable", f"the model {model.name!r} cannot make tileable maps; allowed false")
    params = GenerateParams(width=resolved.width, height=resolved.height, tileable=resolved.tileable, **values)
    return params, resolved


def raw_mesh_bytes(vertex_count: int, triangle_count: int, has_uvs: bool) -> int:
    """Byte size of a MESH_FORMAT_RAW upload (see job.proto)."""
    return 12 * vertex_count + 12 * triangle_count + (8 * vertex_count if has_uvs else 0)


def validate_room_start(start: service_pb2.TextureRoomStart, limits: Limits,
                        model: ModelDescription) -> tuple[RoomParams, job_pb2.RoomParams]:
    """Backend parameters and resolved protocol parameters of a TextureRoom upload; checks the
    mesh description (the bytes are checked by `intrinsix.server.mesh`)."""
    check_client_request_id(start.client_request_id, limits, "start.client_request_id")
    if not start.HasField("params"):
        raise InvalidArgument("start.params", "required")
    if not start.HasField("mesh"):
        raise InvalidArgument("start.mesh", "required")
    mesh = start.mesh
    if mesh.format != job_pb2.MESH_FORMAT_RAW:
        what = "required" if mesh.format == job_pb2.MESH_FORMAT_UNSPECIFIED else f"unknown value {mesh.format}"
        raise InvalidArgument("start.mesh.format", f"{what}; allowed {enum_choices(job_pb2.MeshFormat)}")
    _check_range(mesh.vertex_count, "start.mesh.vertex_count", 3, limits.max_vertices, " vertices")
    _check_range(mesh.triangle_count, "start.mesh.triangle_count", 1, limits.max_triangles, " triangles")
    if not 1 <= mesh.byte_size <= limits.max_mesh_bytes:
        raise InvalidArgument("start.mesh.byte_size", f"{mesh.byte_size} bytes is out of range; allowed "
                                                      f"1..{limits.max_mesh_bytes} bytes")
    expected = raw_mesh_bytes(mesh.vertex_count, mesh.triangle_count, mesh.has_uvs)
    if mesh.byte_size != expected:
        raise InvalidArgument("start.mesh.byte_size", f"{mesh.byte_size} does not match the RAW layout of "
                              f"{mesh.vertex_count} vertices, {mesh.triangle_count} triangles, has_uvs="
                              f"{str(mesh.has_uvs).lower()}; expected {expected} bytes")
    if not _SHA256_HEX.match(mesh.sha256):
        raise InvalidArgument("start.mesh.sha256", "must be the SHA-256 of the mesh bytes as 64 lowercase hex digits")

    resolved = job_pb2.RoomParams()
    resolved.CopyFrom(start.params)
    values = _common(resolved, "start.params", limits, model, room=True)
    if resolved.HasField("texture_size"):
        _check_size(resolved.texture_size, "start.params.texture_size", limits)
    else:
        resolved.texture_size = min(max(1024, limits.min_size), limits.max_size)
    return RoomParams(texture_size=resolved.texture_size, **values), resolved
