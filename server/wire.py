"""The hot path of result streaming, at the wire level.

A texture chunk event is JobEvent{job_id, client_request_id, texture_chunk{file_index, offset,
data, last, result_offset}}. Building it as a protobuf message costs two extra copies of up to
1 MiB per chunk (bytes into the message, message into the serialized string) plus fresh large
allocations; encoding it directly writes the file bytes (from an mmap) into the outgoing message
once, as a bare byte stream would. The encoding is the standard proto3 one (fields in number order,
default values omitted), checked against SerializeToString in tests/server/test_wire.py.

`service_handler` registers the servicer with a response serializer that passes such pre-encoded
events through and serializes every other response normally.
"""

from __future__ import annotations

import grpc
from google.protobuf import message_factory

from .protocol import SERVICE_NAME, service_pb2

_VARINT, _LEN = 0, 2
# JobEvent fields and TextureChunk fields (job.proto, texture.proto).
_EVENT_JOB_ID, _EVENT_CLIENT_REQUEST_ID, _EVENT_TEXTURE_CHUNK = 1, 2, 14
_CHUNK_FILE_INDEX, _CHUNK_OFFSET, _CHUNK_DATA, _CHUNK_LAST, _CHUNK_RESULT_OFFSET = 1, 2, 3, 4, 5


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _string(field: int, text: str) -> bytes:
    raw = text.encode("utf-8")
    return _key(field, _LEN) + _varint(len(raw)) + raw if raw else b""


def _uint(field: int, value: int) -> bytes:
    return _key(field, _VARINT) + _varint(value) if value else b""


def chunk_event(job_id: str, client_request_id: str, file_index: int, offset: int, data, last: bool,
                result_offset: int) -> bytes:
    """The serialized JobEvent carrying one TextureChunk; `data` is any bytes-like object
    (a memoryview of an mmap: its bytes are copied once, into the result)."""
    size = len(data)
    head = _uint(_CHUNK_FILE_INDEX, file_index) + _uint(_CHUNK_OFFSET, offset)
    if size:
        head += _key(_CHUNK_DATA, _LEN) + _varint(size)
    tail = (_key(_CHUNK_LAST, _VARINT) + b"\x01" if last else b"") + _uint(_CHUNK_RESULT_OFFSET, result_offset)
    body_size = len(head) + size + len(tail)
    prefix = (_string(_EVENT_JOB_ID, job_id) + _string(_EVENT_CLIENT_REQUEST_ID, client_request_id)
              + _key(_EVENT_TEXTURE_CHUNK, _LEN) + _varint(body_size) + head)
    return b"".join((prefix, data, tail))


def _serialize_response(response) -> bytes:
    return response if type(response) is bytes else response.SerializeToString()


def service_handler(servicer) -> grpc.GenericRpcHandler:
    """A generic handler for every RPC of TextureService on `servicer` (as the generated
    add_TextureServiceServicer_to_server does, with `_serialize_response` for the responses)."""
    service = service_pb2.DESCRIPTOR.services_by_name["TextureService"]
    handlers = {}
    for method in service.methods:
        kind = {(False, False): grpc.unary_unary_rpc_method_handler,
                (False, True): grpc.unary_stream_rpc_method_handler,
                (True, False): grpc.stream_unary_rpc_method_handler,
                (True, True): grpc.stream_stream_rpc_method_handler}[(method.client_streaming, method.server_streaming)]
        request_class = message_factory.GetMessageClass(method.input_type)
        handlers[method.name] = kind(getattr(servicer, method.name), request_deserializer=request_class.FromString,
                                     response_serializer=_serialize_response)
    return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)
