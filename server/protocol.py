"""The generated protocol modules and the mapping between their enums and the names used by
`intrinsix.pbr` and the backends ("unreal", "base_color", "png16", ...).

The modules are generated at build time from proto/intrinsix/v1 (cmake/proto.cmake) into the
package `intrinsix.proto.intrinsix.v1`.
"""

from __future__ import annotations

try:
    from intrinsix.proto.intrinsix.v1 import job_pb2, service_pb2, service_pb2_grpc, texture_pb2
except ImportError as exc:  # pragma: no cover - depends on the build
    raise ImportError(
        "intrinsix.proto (the generated gRPC modules) is missing: it is generated when the package is "
        "built. Install with `pip install --no-build-isolation .` (needs grpcio-tools), or for a source "
        "tree `source tools/dev_env.sh`."
    ) from exc

__all__ = ["job_pb2", "service_pb2", "service_pb2_grpc", "texture_pb2"]

SERVICE_NAME = service_pb2.DESCRIPTOR.services_by_name["TextureService"].full_name  # intrinsix.v1.TextureService
API_VERSION = "intrinsix.v1"


def _table(enum, prefix: str, names) -> tuple[dict[str, int], dict[int, str]]:
    to_enum = {name: enum.Value(prefix + name.upper()) for name in names}
    return to_enum, {value: name for name, value in to_enum.items()}


PROFILE_TO_ENUM, PROFILE_FROM_ENUM = _table(
    texture_pb2.ExportProfile, "EXPORT_PROFILE_", ("unreal", "godot", "gltf", "unity", "raw"))
SEMANTIC_TO_ENUM, SEMANTIC_FROM_ENUM = _table(
    texture_pb2.TextureSemantic, "TEXTURE_SEMANTIC_",
    ("base_color", "roughness", "metallic", "normal", "height", "ambient_occlusion", "orm",
     "metallic_smoothness", "material", "preview", "model", "manifest"))
COLOR_SPACE_TO_ENUM, COLOR_SPACE_FROM_ENUM = _table(
    texture_pb2.ColorSpace, "COLOR_SPACE_", ("srgb", "linear", "none"))
FORMAT_TO_ENUM, FORMAT_FROM_ENUM = _table(
    texture_pb2.FileFormat, "FILE_FORMAT_", ("png8", "png16", "exr_half", "exr_float", "glb", "gltf", "json"))
NORMAL_TO_ENUM, NORMAL_FROM_ENUM = _table(
    texture_pb2.NormalConvention, "NORMAL_CONVENTION_", ("opengl", "directx"))
BRANCH_TO_ENUM, BRANCH_FROM_ENUM = _table(job_pb2.Branch, "BRANCH_", ("albedo", "material", "normal"))

KIND_GENERATE = job_pb2.JOB_KIND_GENERATE
KIND_TEXTURE_ROOM = job_pb2.JOB_KIND_TEXTURE_ROOM

QUEUED = job_pb2.JOB_STATE_QUEUED
RUNNING = job_pb2.JOB_STATE_RUNNING
SUCCEEDED = job_pb2.JOB_STATE_SUCCEEDED
FAILED = job_pb2.JOB_STATE_FAILED
CANCELLED = job_pb2.JOB_STATE_CANCELLED
INTERRUPTED = job_pb2.JOB_STATE_INTERRUPTED
TERMINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELLED, INTERRUPTED})


def enum_choices(enum) -> str:
    """'UNREAL (1), GODOT (2), ...' for error messages: the allowed values of a request enum."""
    prefix = enum.DESCRIPTOR.values[0].name.rsplit("UNSPECIFIED", 1)[0]
    return ", ".join(f"{v.name[len(prefix):]} ({v.number})" for v in enum.DESCRIPTOR.values if v.number != 0)


def state_name(state: int) -> str:
    return job_pb2.JobState.Name(state)[len("JOB_STATE_"):] if state in job_pb2.JobState.values() else str(state)
