"""The hand-encoded chunk events are exactly what protobuf would serialize."""

from __future__ import annotations

import os

import pytest

from intrinsix.server.protocol import job_pb2, texture_pb2
from intrinsix.server.wire import chunk_event


@pytest.mark.parametrize("file_index, offset, size, last, result_offset, request_id", [
    (0, 0, 0, True, 0, ""),  # the single empty chunk of an empty file
    (0, 0, 10, False, 0, "req-1"),
    (3, 1 << 20, 1 << 20, True, (1 << 33) + 5, "client-\u00e9"),
    (127, 128, 300, False, 16383, ""),  # varint boundaries
    (128, 2**40, 1, True, 2**63 - 1, "x" * 200),
])
def test_chunk_event_matches_protobuf(file_index, offset, size, last, result_offset, request_id):
    data = os.urandom(size)
    job_id = "0123456789abcdef0123456789abcdef"
    expected = job_pb2.JobEvent(job_id=job_id, client_request_id=request_id, texture_chunk=texture_pb2.TextureChunk(
        file_index=file_index, offset=offset, data=data, last=last, result_offset=result_offset))
    encoded = chunk_event(job_id, request_id, file_index, offset, memoryview(data), last, result_offset)
    assert encoded == expected.SerializeToString()
    parsed = job_pb2.JobEvent.FromString(encoded)
    assert parsed == expected and parsed.WhichOneof("event") == "texture_chunk"
