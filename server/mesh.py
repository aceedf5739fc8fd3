"""Room-mesh uploads: reassemble the streamed MeshChunk messages and check the RAW mesh.

RAW layout (job.proto, MESH_FORMAT_RAW), little-endian, no header:
  positions float32 [V, 3] | indices uint32 [F, 3] | uvs float32 [V, 2] (only with has_uvs)
The upload's size is bounded by the declared byte_size, itself bounded by Limits.max_mesh_bytes,
before any byte is buffered.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .backend import RoomMesh
from .config import MAX_CHUNK_BYTES
from .validation import InvalidArgument


class MeshUpload:
    """Collects the chunks of one upload in order, within the declared size."""

    def __init__(self, byte_size: int):
        self.byte_size = byte_size
        self._buffer = bytearray()
        self._sha = hashlib.sha256()

    @property
    def received(self) -> int:
        return len(self._buffer)

    def add(self, offset: int, data: bytes, index: int) -> None:
        field = f"mesh_chunk[{index}]"
        if len(data) > MAX_CHUNK_BYTES:
            raise InvalidArgument(f"{field}.data", f"{len(data)} bytes is too large; allowed 1..{MAX_CHUNK_BYTES} bytes per chunk")
        if not data:
            raise InvalidArgument(f"{field}.data", f"is empty; allowed 1..{MAX_CHUNK_BYTES} bytes per chunk")
        if offset != self.received:
            raise InvalidArgument(f"{field}.offset", f"{offset} is not where the previous chunk ended; "
                                                     f"expected {self.received} (chunks in order, no gaps)")
        if self.received + len(data) > self.byte_size:
            raise InvalidArgument(f"{field}.data", f"the upload exceeds the declared mesh.byte_size of "
                                                   f"{self.byte_size} bytes (chunk ends at {self.received + len(data)})")
        self._buffer += data
        self._sha.update(data)

    def finish(self, sha256: str) -> bytes:
        if self.received != self.byte_size:
            raise InvalidArgument("mesh_chunk", f"the upload ended after {self.received} bytes; mesh.byte_size "
                                                f"declared {self.byte_size} bytes")
        if self._sha.hexdigest() != sha256:
            raise InvalidArgument("start.mesh.sha256", f"does not match the uploaded bytes "
                                                       f"(received bytes hash to {self._sha.hexdigest()})")
        return bytes(self._buffer)


def parse_raw_mesh(data: bytes, vertex_count: int, triangle_count: int, has_uvs: bool) -> RoomMesh:
    """Decode and check a RAW mesh whose size already matches the layout.

    Returns positions [V, 3] float32, triangles [F, 3] int64, uvs [V, 2] float32 or None.
    Raises InvalidArgument for non-finite values and vertex indices outside [0, V).
    """
    v, f = vertex_count, triangle_count
    positions = np.frombuffer(data, dtype="<f4", count=3 * v, offset=0).reshape(v, 3)
    indices = np.frombuffer(data, dtype="<u4", count=3 * f, offset=12 * v).reshape(f, 3)
    uvs = np.frombuffer(data, dtype="<f4", count=2 * v, offset=12 * v + 12 * f).reshape(v, 2) if has_uvs else None

    finite = np.isfinite(positions).all(axis=1)
    if not finite.all():
        first = int(np.argmin(finite))
        raise InvalidArgument("mesh.positions", f"{int((~finite).sum())} vertices have NaN or infinite coordinates "
                                                f"(first: vertex {first}); all coordinates must be finite")
    bad = indices >= v
    if bad.any():
        triangle = int(np.argmax(bad.any(axis=1)))
        value = int(indices[triangle][bad[triangle]][0])
        raise InvalidArgument("mesh.indices", f"index {value} in triangle {triangle} is out of range; allowed "
                                              f"0..{v - 1} for {v} vertices")
    if uvs is not None:
        finite_uv = np.isfinite(uvs).all(axis=1)
        if not finite_uv.all():
            first = int(np.argmin(finite_uv))
            raise InvalidArgument("mesh.uvs", f"{int((~finite_uv).sum())} vertices have NaN or infinite UVs "
                                              f"(first: vertex {first}); all UVs must be finite")
    return RoomMesh(
        positions=positions.astype(np.float32),
        triangles=indices.astype(np.int64),
        uvs=None if uvs is None else uvs.astype(np.float32),
    )
