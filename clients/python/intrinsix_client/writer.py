"""Reassembly of a job's result into a folder.

Each file is staged as `.<name>.part` in the target folder, checked (offsets contiguous, size and
SHA-256 as announced), flushed to disk and only then renamed to its name; the manifest arrives
last. File names from the server are checked to be plain names before they touch the file system.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ._protocol import job_pb2, profile_name, state_name, texture_pb2
from .errors import JobFailed, ResultError

# The server's rule (intrinsix.pbr.files.check_file_name): a plain name, never a path.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


def _enum_name(enum, value: int, prefix: str) -> str | None:
    return None if value == 0 else enum.Name(value)[len(prefix):].lower()


@dataclass(frozen=True)
class ResultFile:
    """One delivered file and what it holds (from its TextureHeader)."""

    path: Path
    name: str
    semantic: str  # "base_color", "normal", "orm", "manifest", ...
    color_space: str  # "srgb", "linear" or "none"
    format: str  # "png8", "png16", "exr_half", "exr_float", "glb", "gltf", "json"
    width: int  # pixels (0 for non-images)
    height: int
    channels: int
    normal_convention: str | None  # "opengl" / "directx" for normal maps
    packing: str | None  # e.g. "R=ambient_occlusion,G=roughness,B=metallic"
    tiling: bool
    derived: bool
    byte_size: int
    sha256: str

    @classmethod
    def from_header(cls, path: Path, h: texture_pb2.TextureHeader) -> ResultFile:
        return cls(path=path, name=h.name, semantic=_enum_name(texture_pb2.TextureSemantic, h.semantic, "TEXTURE_SEMANTIC_"),
                   color_space=_enum_name(texture_pb2.ColorSpace, h.color_space, "COLOR_SPACE_"),
                   format=_enum_name(texture_pb2.FileFormat, h.format, "FILE_FORMAT_"), width=h.width, height=h.height,
                   channels=h.channels,
                   normal_convention=_enum_name(texture_pb2.NormalConvention, h.normal_convention, "NORMAL_CONVENTION_"),
                   packing=h.packing or None, tiling=h.tiling, derived=h.derived, byte_size=h.byte_size, sha256=h.sha256)


@dataclass
class TextureSetResult:
    """A finished job's texture set, written to `out_dir`."""

    job_id: str
    out_dir: Path
    files: list[ResultFile]  # in delivery order, material.json last
    manifest: dict  # parsed material.json
    material_name: str
    profile: str  # "unreal", "godot", "gltf", "unity", "raw"
    total_bytes: int
    resumes: list[int] = field(default_factory=list)  # result offsets at which a dropped stream resumed

    def file(self, semantic: str) -> ResultFile:
        """The first file with this semantic ("base_color", "normal", ...)."""
        for f in self.files:
            if f.semantic == semantic:
                return f
        raise KeyError(f"no {semantic!r} file in this result (have {[f.semantic for f in self.files]})")


class _Pending:
    def __init__(self, header: texture_pb2.TextureHeader, target: Path, part: Path):
        self.header = header
        self.target = target
        self.part = part
        self.handle = open(part, "wb")
        self.sha = hashlib.sha256()
        self.written = 0


class ResultWriter:
    """Consumes the events of one job stream (resumed or not) and writes its files to `out_dir`.

    overwrite=False refuses to replace an existing file with different content (checked when its
    header arrives, before any byte is written); identical files are left as they are."""

    def __init__(self, out_dir: str | os.PathLike, overwrite: bool = False):
        self.out_dir = Path(out_dir)
        self.overwrite = overwrite
        self.offset = 0  # bytes of the result stream stored so far
        self.files: list[ResultFile] = []
        self._pending: _Pending | None = None

    def handle(self, event: job_pb2.JobEvent) -> TextureSetResult | None:
        """Process one event; returns the result on `completed`, raises JobFailed on `failed`."""
        kind = event.WhichOneof("event")
        if kind == "texture_header":
            self._header(event.texture_header)
        elif kind == "texture_chunk":
            self._chunk(event.texture_chunk)
        elif kind == "completed":
            return self._completed(event.job_id, event.completed)
        elif kind == "failed":
            self.abort()
            failed = event.failed
            raise JobFailed(event.job_id, state_name(failed.state), failed.error.code, failed.error.message)
        return None

    def _header(self, h: texture_pb2.TextureHeader) -> None:
        if self._pending is not None and self._pending.header.file_index == h.file_index:
            if (h.sha256, h.byte_size) != (self._pending.header.sha256, self._pending.header.byte_size):
                raise ResultError(f"file {h.name!r} was announced again with a different size or checksum")
            return  # re-announced after a resume: keep appending
        if self._pending is not None:
            raise ResultError(f"file {self._pending.header.name!r} ended early: {h.name!r} was announced after "
                              f"{self._pending.written} of {self._pending.header.byte_size} bytes")
        if any(f.name == h.name for f in self.files) and h.byte_size == 0:
            return  # an empty file re-announced at the resume offset
        if not _SAFE_NAME.match(h.name) or ".." in h.name:
            raise ResultError(f"the server sent the file name {h.name!r}, which is not a plain file name; refusing it")
        if h.result_offset != self.offset:
            raise ResultError(f"file {h.name!r} starts at result offset {h.result_offset}, expected {self.offset}")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        target = self.out_dir / h.name
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise ResultError(f"{str(target)!r} exists and is not a regular file; refusing to replace it")
        if target.exists() and not self.overwrite and _sha256_of(target) != h.sha256:
            raise FileExistsError(f"{str(target)!r} exists with different content; choose another folder or pass "
                                  "overwrite=True (the job's result stays on the server: download it again by job id)")
        self._pending = _Pending(h, target, self.out_dir / f".{h.name}.part")

    def _chunk(self, c: texture_pb2.TextureChunk) -> None:
        pending = self._pending
        if pending is None or pending.header.file_index != c.file_index:
            raise ResultError(f"a chunk of file #{c.file_index} arrived without its header")
        if c.offset != pending.written or c.result_offset != self.offset:
            raise ResultError(f"chunk of {pending.header.name!r} at offset {c.offset} (result offset {c.result_offset}) "
                              f"does not continue the {pending.written} bytes stored (result offset {self.offset})")
        if pending.written + len(c.data) > pending.header.byte_size:
            raise ResultError(f"file {pending.header.name!r} is longer than its announced {pending.header.byte_size} bytes")
        pending.handle.write(c.data)
        pending.sha.update(c.data)
        pending.written += len(c.data)
        self.offset += len(c.data)
        if c.last:
            self._finish_file(pending)

    def _finish_file(self, pending: _Pending) -> None:
        h = pending.header
        pending.handle.flush()
        os.fsync(pending.handle.fileno())
        pending.handle.close()
        self._pending = None
        if pending.written != h.byte_size or pending.sha.hexdigest() != h.sha256:
            pending.part.unlink(missing_ok=True)
            raise ResultError(f"file {h.name!r}: got {pending.written} bytes with SHA-256 {pending.sha.hexdigest()}, "
                              f"announced {h.byte_size} bytes with {h.sha256}")
        os.replace(pending.part, pending.target)
        self.files.append(ResultFile.from_header(pending.target, h))

    def _completed(self, job_id: str, done: job_pb2.JobCompleted) -> TextureSetResult:
        if self._pending is not None:
            raise ResultError(f"the job completed while {self._pending.header.name!r} was incomplete")
        if len(self.files) != done.file_count or self.offset != done.total_bytes:
            raise ResultError(f"completed with {done.file_count} files / {done.total_bytes} bytes announced, "
                              f"{len(self.files)} files / {self.offset} bytes received")
        return TextureSetResult(job_id=job_id, out_dir=self.out_dir, files=list(self.files),
                                manifest=json.loads(done.manifest_json) if done.manifest_json else {},
                                material_name=done.material_name, profile=profile_name(done.profile),
                                total_bytes=done.total_bytes)

    def abort(self) -> None:
        """Remove the partially written file, if any."""
        if self._pending is not None:
            self._pending.handle.close()
            self._pending.part.unlink(missing_ok=True)
            self._pending = None


def _sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()
