"""Protocol messages built from the job store and live jobs: JobInfo, TextureHeader, and the
result part of a job stream (headers + chunks from a byte offset, then JobCompleted). Chunks are
views of the memory-mapped result files, encoded on the wire by `intrinsix.server.wire`."""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp

from .jobs import Job
from .protocol import (
    COLOR_SPACE_TO_ENUM,
    FORMAT_TO_ENUM,
    KIND_TEXTURE_ROOM,
    NORMAL_TO_ENUM,
    PROFILE_TO_ENUM,
    QUEUED,
    SEMANTIC_TO_ENUM,
    SUCCEEDED,
    TERMINAL_STATES,
    job_pb2,
    texture_pb2,
)
from .store import JobRecord, JobStore


def _timestamp(seconds: float | None) -> Timestamp | None:
    if seconds is None:
        return None
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def texture_header(description: dict, index: int, count: int, result_offset: int) -> texture_pb2.TextureHeader:
    """Header of one result file from its stored description (ExportedFile.describe())."""
    return texture_pb2.TextureHeader(
        file_index=index,
        file_count=count,
        name=description["name"],
        semantic=SEMANTIC_TO_ENUM[description["semantic"]],
        color_space=COLOR_SPACE_TO_ENUM[description["color_space"]],
        format=FORMAT_TO_ENUM[description["format"]],
        width=description["width"],
        height=description["height"],
        channels=description["channels"],
        normal_convention=NORMAL_TO_ENUM.get(description.get("normal_convention") or "", 0),
        packing=description.get("packing") or "",
        tiling=bool(description.get("tiling")),
        derived=bool(description.get("derived")),
        byte_size=description["bytes"],
        sha256=description["sha256"],
        result_offset=result_offset,
    )


def job_info(record: JobRecord, job: Job | None, retention_s: float) -> job_pb2.JobInfo:
    """The JobInfo of a stored job, with live progress and queue position if it is active."""
    info = job_pb2.JobInfo(
        job_id=record.job_id,
        kind=record.kind,
        state=job.state if job is not None else record.state,
        client_request_id=record.client_request_id,
        progress=job.progress.overall if job is not None else record.progress,
        queue_position=job.queue_position if job is not None and job.state == QUEUED else 0,
        device=job.record.device if job is not None else record.device,
    )
    if record.kind == KIND_TEXTURE_ROOM:
        info.room.ParseFromString(record.params)
    else:
        info.generate.ParseFromString(record.params)
    for name, seconds in (("created_at", record.created_at), ("started_at", record.started_at),
                          ("finished_at", record.finished_at)):
        stamp = _timestamp(seconds)
        if stamp is not None:
            getattr(info, name).CopyFrom(stamp)
    if record.state in TERMINAL_STATES and record.finished_at is not None:
        info.expires_at.CopyFrom(_timestamp(record.finished_at + retention_s))
    if record.error_code or record.error_message:
        info.error.code = record.error_code
        info.error.message = record.error_message
    if record.state == SUCCEEDED:
        offset = 0
        for index, description in enumerate(record.files):
            info.files.append(texture_header(description, index, len(record.files), offset))
            offset += description["bytes"]
        info.total_bytes = offset
    return info


class ResultMissing(Exception):
    """A stored result file disappeared from the data directory."""


@dataclass(frozen=True)
class ChunkView:
    """One chunk of a result file; `data` is a view of the mapped file, valid until the
    generator that produced it is resumed."""

    file_index: int
    offset: int  # within the file
    data: memoryview
    last: bool
    result_offset: int  # within the result stream


def result_events(store: JobStore, record: JobRecord, resume_offset: int,
                  chunk_size: int) -> Iterator[texture_pb2.TextureHeader | ChunkView | job_pb2.JobCompleted]:
    """Headers and chunks of a SUCCEEDED job from `resume_offset` of its result stream, then
    JobCompleted. Files that end at or before the offset are skipped; the file that contains it
    gets its header again. Raises ResultMissing if a file is gone or shorter than recorded."""
    count = len(record.files)
    start = 0
    for index, description in enumerate(record.files):
        size = int(description["bytes"])
        end = start + size
        # A file was fully delivered if it ends before the offset (or at it, unless it is empty
        # and starts there: then its header may not have arrived).
        if end < resume_offset or (end == resume_offset and size > 0):
            start = end
            continue
        yield texture_header(description, index, count, start)
        offset = max(resume_offset - start, 0)
        path = store.result_path(record.job_id, description["name"])
        if size == 0:
            yield ChunkView(index, 0, memoryview(b""), True, start)
        else:
            try:
                with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                    if len(mapped) != size:
                        raise ResultMissing(f"result file {description['name']!r} has {len(mapped)} bytes, "
                                            f"{size} were recorded")
                    with memoryview(mapped) as view:
                        while offset < size:
                            piece = view[offset:offset + chunk_size]
                            length = len(piece)
                            try:
                                yield ChunkView(index, offset, piece, offset + length >= size, start + offset)
                            finally:  # also when the stream is closed mid-file: the map must have no views
                                piece.release()
                            offset += length
            except (FileNotFoundError, ValueError):
                raise ResultMissing(f"result file {description['name']!r} of job {record.job_id} is missing "
                                    "from the data directory") from None
        start = end
    yield job_pb2.JobCompleted(manifest_json=record.manifest_json, file_count=count, total_bytes=start,
                               material_name=record.material_name, profile=PROFILE_TO_ENUM.get(record.profile, 0))
