"""The generated protocol modules (built from proto/ when this package is built) and the
conversion of plain Python arguments into requests."""

from __future__ import annotations

import hashlib
import struct
import uuid
from collections.abc import Iterator, Sequence

try:
    from ._proto.intrinsix.v1 import job_pb2, service_pb2, service_pb2_grpc, texture_pb2
except ImportError as exc:  # pragma: no cover - depends on the build
    raise ImportError("intrinsix_client._proto is missing: it is generated when the package is built; install "
                      "with `pip install ./clients/python` (or `pip install -e ./clients/python`)") from exc

__all__ = ["job_pb2", "service_pb2", "service_pb2_grpc", "texture_pb2"]

PROFILES = ("unreal", "godot", "gltf", "unity", "raw")
FORMATS = ("png8", "png16", "glb", "gltf")
MESH_CHUNK_BYTES = 1 << 20
# Status codes after which a job stream is re-attached (the connection, not the job, failed).
RESUMABLE_CODES = ("UNAVAILABLE", "INTERNAL", "UNKNOWN")


def profile_value(profile: str | int) -> int:
    if isinstance(profile, int):
        return profile
    name = profile.lower()
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    return texture_pb2.ExportProfile.Value("EXPORT_PROFILE_" + name.upper())


def profile_name(value: int) -> str:
    return texture_pb2.ExportProfile.Name(value)[len("EXPORT_PROFILE_"):].lower()


def format_value(fmt: str | int) -> int:
    if isinstance(fmt, int):
        return fmt
    if fmt.lower() not in FORMATS:
        raise ValueError(f"formats entries must be among {FORMATS}, got {fmt!r}")
    return texture_pb2.FileFormat.Value("FILE_FORMAT_" + fmt.upper())


def state_name(value: int) -> str:
    return job_pb2.JobState.Name(value)[len("JOB_STATE_"):]


def _fill_params(params, prompt: str | Sequence[str], *, negative_prompt: str | None, seed: int | None,
                 steps: int | None, guidance: float | None, true_cfg_scale: float | None, profile: str | int,
                 formats: Sequence[str | int], material_name: str | None, preview_every: int,
                 preview_size: int | None) -> None:
    if isinstance(prompt, str):
        params.prompt = prompt
    else:
        params.branch_prompts.extend(prompt)
    params.negative_prompt = negative_prompt or ""
    for name, value in (("seed", seed), ("steps", steps), ("guidance", guidance), ("true_cfg_scale", true_cfg_scale),
                        ("preview_size", preview_size)):
        if value is not None:
            setattr(params, name, value)
    params.profile = profile_value(profile)
    params.formats.extend(format_value(f) for f in formats)
    params.material_name = material_name or ""
    params.preview_every = preview_every


def generate_request(prompt: str | Sequence[str], *, negative_prompt: str | None = None, seed: int | None = None,
                     steps: int | None = None, guidance: float | None = None, true_cfg_scale: float | None = None,
                     width: int | None = None, height: int | None = None, size: int | None = None,
                     tileable: bool = False, profile: str | int = "unreal", formats: Sequence[str | int] = (),
                     material_name: str | None = None, preview_every: int = 0, preview_size: int | None = None,
                     client_request_id: str | None = None) -> service_pb2.GenerateRequest:
    """A GenerateRequest; unset values take the server model's defaults. `size` sets both sides.
    A client_request_id is made up (uuid4) when not given: it lets a stream that dropped before
    the job id arrived find its job again."""
    params = job_pb2.GenerateParams(tileable=tileable)
    _fill_params(params, prompt, negative_prompt=negative_prompt, seed=seed, steps=steps, guidance=guidance,
                 true_cfg_scale=true_cfg_scale, profile=profile, formats=formats, material_name=material_name,
                 preview_every=preview_every, preview_size=preview_size)
    for name, value in (("width", width if width is not None else size), ("height", height if height is not None else size)):
        if value is not None:
            setattr(params, name, value)
    return service_pb2.GenerateRequest(params=params, client_request_id=client_request_id or uuid.uuid4().hex)


def pack_raw_mesh(positions: Sequence[Sequence[float]], triangles: Sequence[Sequence[int]],
                  uvs: Sequence[Sequence[float]] | None = None) -> bytes:
    """MESH_FORMAT_RAW bytes: float32 positions [V, 3], uint32 indices [F, 3], float32 uvs [V, 2]
    (little-endian). Accepts nested sequences or numpy arrays."""
    data = bytearray()
    for p in positions:
        data += struct.pack("<3f", *(float(x) for x in p))
    for t in triangles:
        data += struct.pack("<3I", *(int(i) for i in t))
    if uvs is not None:
        if len(uvs) != len(positions):
            raise ValueError(f"uvs must have one entry per vertex ({len(positions)}), got {len(uvs)}")
        for uv in uvs:
            data += struct.pack("<2f", *(float(x) for x in uv))
    return bytes(data)


def room_requests(positions, triangles, uvs, prompt: str | Sequence[str], *, texture_size: int | None = None,
                  client_request_id: str | None = None, **options) -> tuple[str, Iterator[service_pb2.TextureRoomRequest]]:
    """(client_request_id, the TextureRoom client stream: start + the mesh in 1 MiB chunks)."""
    data = pack_raw_mesh(positions, triangles, uvs)
    params = job_pb2.RoomParams()
    defaults = dict(negative_prompt=None, seed=None, steps=None, guidance=None, true_cfg_scale=None,
                    profile="unreal", formats=(), material_name=None, preview_every=0, preview_size=None)
    defaults.update(options)
    _fill_params(params, prompt, **defaults)
    if texture_size is not None:
        params.texture_size = texture_size
    mesh = job_pb2.MeshInfo(format=job_pb2.MESH_FORMAT_RAW, vertex_count=len(positions), triangle_count=len(triangles),
                            has_uvs=uvs is not None, byte_size=len(data), sha256=hashlib.sha256(data).hexdigest())
    request_id = client_request_id or uuid.uuid4().hex

    def stream() -> Iterator[service_pb2.TextureRoomRequest]:
        yield service_pb2.TextureRoomRequest(start=service_pb2.TextureRoomStart(
            params=params, mesh=mesh, client_request_id=request_id))
        for offset in range(0, len(data), MESH_CHUNK_BYTES):
            yield service_pb2.TextureRoomRequest(mesh_chunk=service_pb2.MeshChunk(
                offset=offset, data=data[offset:offset + MESH_CHUNK_BYTES]))

    return request_id, stream()
