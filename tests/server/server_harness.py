"""A real IntrinsiX gRPC server on loopback, in a background thread of the test process, with the
deterministic fake backend; plus helpers to read job streams."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from pathlib import Path

import grpc
from fake_texture_backend import FakeBackend

from intrinsix.server import IntrinsiXServer, ServerConfig
from intrinsix.server.protocol import job_pb2, service_pb2, service_pb2_grpc


def bearer(token: str | None):
    return None if token is None else (("authorization", f"Bearer {token}"),)


class ServerThread:
    """`with ServerThread(tmp_path, ...) as srv:` serves on 127.0.0.1:<srv.port>."""

    def __init__(self, tmp_path: Path, devices=("cpu",), backend_options: dict | None = None,
                 backend_class=FakeBackend, **config):
        self.backends: dict = {}
        self._backend_class = backend_class
        self._backend_options = backend_options or {}
        config.setdefault("shutdown_grace_s", 5.0)
        config.setdefault("stream_grace_s", 1.0)
        self.config = ServerConfig(data_dir=Path(tmp_path) / "data", address="127.0.0.1:0", devices=devices, **config)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-server-loop", daemon=True)
        self._channels: list[grpc.Channel] = []
        self.server: IntrinsiXServer | None = None
        self.port = 0
        self._stopped = False

    def _factory(self, device: str):
        backend = self._backend_class(device, **self._backend_options)
        self.backends[device] = backend
        return backend

    def call(self, coro, timeout: float = 30.0):
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, wait_ready: bool = True) -> "ServerThread":
        self._thread.start()

        async def make():
            self.server = IntrinsiXServer(self.config, self._factory)
            return await self.server.start()

        self.port = self.call(make())
        if wait_ready:
            self.call(self.server.wait_ready(10))
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def backend(self) -> FakeBackend:
        return next(iter(self.backends.values()))

    def channel(self) -> grpc.Channel:
        channel = grpc.insecure_channel(self.address)
        self._channels.append(channel)
        return channel

    def stub(self) -> service_pb2_grpc.TextureServiceStub:
        return service_pb2_grpc.TextureServiceStub(self.channel())

    def stop(self, grace_s: float | None = None) -> None:
        """Graceful server stop (clients stay connected meanwhile), then close the test's channels."""
        if self._stopped:
            return
        self._stopped = True
        if self.server is not None:
            self.call(self.server.stop(grace_s), timeout=60)
        for channel in self._channels:
            channel.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def generate_request(prompt: str = "red brick wall", *, seed: int = 7, steps: int = 4, size: int = 64,
                     profile: str = "unreal", preview_every: int = 0, client_request_id: str = "",
                     **params) -> service_pb2.GenerateRequest:
    from intrinsix.server.protocol import PROFILE_TO_ENUM

    p = job_pb2.GenerateParams(prompt=prompt, seed=seed, steps=steps, width=size, height=size,
                               profile=PROFILE_TO_ENUM[profile], preview_every=preview_every, **params)
    return service_pb2.GenerateRequest(params=p, client_request_id=client_request_id)


def assemble(events) -> dict[str, bytes]:
    """Reassemble the files of a job stream, checking offsets, sizes and SHA-256 on the way."""
    headers, buffers = {}, {}
    for event in events:
        kind = event.WhichOneof("event")
        if kind == "texture_header":
            header = event.texture_header
            headers[header.file_index] = header
            buffers.setdefault(header.file_index, bytearray())
        elif kind == "texture_chunk":
            chunk = event.texture_chunk
            buffer = buffers[chunk.file_index]
            assert chunk.offset == len(buffer), (chunk.offset, len(buffer))
            assert chunk.result_offset == headers[chunk.file_index].result_offset + chunk.offset
            buffer += chunk.data
            assert chunk.last == (len(buffer) == headers[chunk.file_index].byte_size)
    files = {}
    for index, header in headers.items():
        data = bytes(buffers[index])
        assert len(data) == header.byte_size, (header.name, len(data), header.byte_size)
        assert hashlib.sha256(data).hexdigest() == header.sha256, header.name
        files[header.name] = data
    return files


def kinds(events) -> list[str]:
    return [event.WhichOneof("event") for event in events]


def raw_mesh(positions, triangles, uvs=None) -> bytes:
    """MESH_FORMAT_RAW bytes: float32 positions, uint32 indices, float32 uvs (little-endian)."""
    import struct

    data = b"".join(struct.pack("<3f", *p) for p in positions)
    data += b"".join(struct.pack("<3I", *t) for t in triangles)
    if uvs is not None:
        data += b"".join(struct.pack("<2f", *uv) for uv in uvs)
    return data


QUAD_POSITIONS = [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (1.0, 1.0, 0.0), (0.0, 1.0, 0.0)]
QUAD_TRIANGLES = [(0, 1, 2), (0, 2, 3)]
QUAD_UVS = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]


def room_requests(data: bytes, *, vertex_count: int = 4, triangle_count: int = 2, has_uvs: bool = True,
                  prompt: str = "plaster walls", chunk: int = 1 << 20, byte_size: int | None = None,
                  sha256: str | None = None, texture_size: int = 64, **params):
    """The client stream of a TextureRoom call: start, then the mesh in chunks."""
    from intrinsix.server.protocol import PROFILE_TO_ENUM

    info = job_pb2.MeshInfo(format=job_pb2.MESH_FORMAT_RAW, vertex_count=vertex_count, triangle_count=triangle_count,
                            has_uvs=has_uvs, byte_size=len(data) if byte_size is None else byte_size,
                            sha256=hashlib.sha256(data).hexdigest() if sha256 is None else sha256)
    params.setdefault("profile", PROFILE_TO_ENUM["godot"])
    params.setdefault("steps", 2)
    room = job_pb2.RoomParams(prompt=prompt, seed=5, texture_size=texture_size, **params)
    yield service_pb2.TextureRoomRequest(start=service_pb2.TextureRoomStart(params=room, mesh=info))
    for offset in range(0, len(data), chunk):
        yield service_pb2.TextureRoomRequest(
            mesh_chunk=service_pb2.MeshChunk(offset=offset, data=data[offset:offset + chunk]))
