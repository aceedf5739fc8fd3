"""Python SDK of the IntrinsiX texture server (gRPC; depends on grpcio and protobuf only).

    from intrinsix_client import Client
    with Client("localhost:50051") as client:
        result = client.generate("weathered oak planks", out_dir="out/oak", profile="godot")

`Client` blocks, `AsyncClient` is the asyncio twin. Results are written file by file, verified
(size, SHA-256) and described by `TextureSetResult` / `ResultFile`. See docs/python-client.md.
"""

from ._protocol import job_pb2, pack_raw_mesh, service_pb2, texture_pb2
from .aio import AsyncClient, AsyncJobStream
from .client import Client, JobStream
from .connection import TlsOptions
from .errors import IntrinsiXError, JobFailed, ResultError, StreamLost
from .writer import ResultFile, ResultWriter, TextureSetResult

__version__ = "0.1.0"

__all__ = [
    "AsyncClient", "AsyncJobStream", "Client", "IntrinsiXError", "JobFailed", "JobStream", "ResultError",
    "ResultFile", "ResultWriter", "StreamLost", "TextureSetResult", "TlsOptions", "job_pb2", "pack_raw_mesh",
    "service_pb2", "texture_pb2",
]
