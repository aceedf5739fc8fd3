"""The IntrinsiX gRPC server: `grpc.aio` TextureService, job queue and workers (one per device),
persistent job store, token auth, limits, and the `intrinsix serve` command.

Protocol: proto/intrinsix/v1 (generated modules in `intrinsix.proto.intrinsix.v1`); user docs:
docs/server.md and docs/protocol.md.

The names below are imported on first use, so that `intrinsix.server.cli` (the `serve` argument
parser) loads without grpc, torch or the generated modules.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "IntrinsiXServer": "app",
    "BackendFactory": "backend",
    "GenerateParams": "backend",
    "JobCancelled": "backend",
    "ModelDescription": "backend",
    "RoomMesh": "backend",
    "RoomParams": "backend",
    "RoomTexturingUnavailable": "backend",
    "TextureBackend": "backend",
    "Limits": "config",
    "ServerConfig": "config",
    "TlsConfig": "config",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'intrinsix.server' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
