"""The jobs the demo page shows: started from the page (Generate) or opened from the token's
history (WatchJob), each followed by a thread that reads its event stream through the Python SDK,
writes the delivered files, and decodes them into a texture set for display.

Browser-facing events (JSON payloads, replayed to every page that subscribes):
    accepted  {job_id, seed, queue_position, reattached}
    progress  {stage, step, total, overall, queue_position}
    preview   {step, total, images: {albedo|material|normal: "data:image/png;base64,..."}}
    file      {name, index, count, bytes}          one per delivered file, as its header arrives
    done      the result summary (JobView.result_summary)
    failed    {state, code, message}
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
from intrinsix_client import Client, JobFailed, ResultWriter, job_pb2, texture_pb2
from intrinsix_client.errors import IntrinsiXError

from .display import MAP_LABELS
from .texture_files import DecodedMaterial, decode_result

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
PROFILES = ("unreal", "godot", "gltf", "unity", "raw")
HISTORY_LIMIT = 50
# Jobs kept open (files on disk, decoded maps in memory); older finished ones are closed first
# and can be opened again from the history.
MAX_OPEN_JOBS = 12
_BRANCHES = {job_pb2.BRANCH_ALBEDO: "albedo", job_pb2.BRANCH_MATERIAL: "material", job_pb2.BRANCH_NORMAL: "normal"}


def check_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not JOB_ID.match(job_id):
        raise ValueError(f"job id must be 32 lowercase hex digits, got {job_id!r}")
    return job_id


def _state_name(value: int) -> str:
    return job_pb2.JobState.Name(value)[len("JOB_STATE_"):]


class JobView:
    """One job as the page sees it: its event log (for SSE), its files and its decoded material."""

    def __init__(self, job_id: str, folder: Path, prompt: str = ""):
        self.job_id = job_id
        self.folder = folder
        self.prompt = prompt
        self.state = "RUNNING"  # until the stream ends: SUCCEEDED, FAILED, CANCELLED, INTERRUPTED
        self.result = None  # intrinsix_client.TextureSetResult once delivered
        self.material: DecodedMaterial | None = None
        self.seed: int | None = None
        self._events: list[tuple[str, dict]] = []
        self._images: dict[str, bytes] = {}  # map semantic -> display PNG
        self._changed = threading.Condition()

    # ---- event log ------------------------------------------------------------------------------
    def record(self, kind: str, payload: dict) -> None:
        with self._changed:
            self._events.append((kind, payload))
            self._changed.notify_all()

    def events_from(self, index: int, timeout: float) -> list[tuple[int, str, dict]]:
        """Events with index >= `index` as (index, kind, payload); waits up to `timeout` s for one."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._events) > index, timeout)
            return [(i, kind, payload) for i, (kind, payload) in enumerate(self._events[index:], start=index)]

    @property
    def finished(self) -> bool:
        return self.state != "RUNNING"

    # ---- reading the stream -----------------------------------------------------------------------
    def follow(self, events: Iterator[job_pb2.JobEvent]) -> None:
        """Read the rest of a job stream (in a thread): log events, write files, decode the result."""
        writer = ResultWriter(self.folder, overwrite=True)
        try:
            for event in events:
                self._observe(event)
                result = writer.handle(event)
                if result is not None:
                    self._finish(result)
                    return
            self._fail("FAILED", grpc.StatusCode.UNAVAILABLE.value[0], "the job stream ended without a result")
        except JobFailed as exc:
            self._fail(exc.state, exc.code, exc.message)
        except grpc.RpcError as exc:
            self._fail("FAILED", exc.code().value[0], f"{exc.code().name}: {exc.details()}")
        except (IntrinsiXError, OSError, ValueError) as exc:
            self._fail("FAILED", grpc.StatusCode.INTERNAL.value[0], str(exc))

    def _observe(self, event: job_pb2.JobEvent) -> None:
        kind = event.WhichOneof("event")
        if kind == "accepted":
            a = event.accepted
            self.seed = a.seed
            self.record("accepted", {"job_id": event.job_id, "seed": str(a.seed), "queue_position": a.queue_position,
                                     "reattached": a.reattached})
        elif kind == "progress":
            p = event.progress
            self.record("progress", {"stage": p.stage, "step": p.step, "total": p.total,
                                     "overall": round(p.overall, 4), "queue_position": p.queue_position})
        elif kind == "preview":
            images = {_BRANCHES.get(image.branch, str(image.branch)):
                      "data:image/png;base64," + base64.b64encode(image.png).decode("ascii")
                      for image in event.preview.images}
            self.record("preview", {"step": event.preview.step, "total": event.preview.total, "images": images})
        elif kind == "texture_header":
            h = event.texture_header
            self.record("file", {"name": h.name, "index": h.file_index, "count": h.file_count, "bytes": h.byte_size})

    def _finish(self, result) -> None:
        self.result = result
        try:
            self.material = decode_result(result.files, result.manifest)
        except (ValueError, OSError, KeyError) as exc:
            self._fail("FAILED", grpc.StatusCode.DATA_LOSS.value[0],
                       f"the files were delivered but could not be read back for display: {exc}")
            return
        self.state = "SUCCEEDED"
        self.record("done", self.result_summary())

    def _fail(self, state: str, code: int, message: str) -> None:
        self.state = state if state in ("FAILED", "CANCELLED", "INTERRUPTED") else "FAILED"
        self.record("failed", {"state": self.state, "code": code, "message": message})

    # ---- what the page fetches --------------------------------------------------------------------
    def result_summary(self) -> dict:
        """JSON description of the delivered result: files (as headers describe them), maps, URLs."""
        if self.result is None or self.material is None:
            raise LookupError(f"job {self.job_id} has no result yet (state {self.state})")
        result, material = self.result, self.material
        base = f"/api/jobs/{self.job_id}"
        rows, cols = material.texture_set.resolution
        return {
            "job_id": self.job_id,
            "material_name": result.material_name,
            "profile": result.profile,
            "tiling": material.texture_set.tiling,
            "width": cols, "height": rows,
            "total_bytes": result.total_bytes,
            "prompt": result.manifest.get("metadata", {}).get("prompt", self.prompt),
            "seed": str(result.manifest.get("metadata", {}).get("seed", self.seed)),
            "files": [{"name": f.name, "semantic": f.semantic, "format": f.format, "color_space": f.color_space,
                       "width": f.width, "height": f.height, "channels": f.channels,
                       "normal_convention": f.normal_convention, "packing": f.packing, "bytes": f.byte_size,
                       "sha256": f.sha256} for f in result.files],
            "maps": [{"semantic": s, "label": MAP_LABELS[s], "source": material.sources[s],
                      "url": f"{base}/maps/{s}.png"} for s in MAP_LABELS if s in material.texture_set],
            "render_url": f"{base}/render.png",
            "zip_url": f"{base}/files.zip",
            "zip_name": f"{result.material_name}_{result.profile}.zip",
        }

    def map_image(self, semantic: str, encode: Callable) -> bytes:
        """The display PNG of one map, made once by `encode(texture_set, semantic)`."""
        if semantic not in self._images:
            self._images[semantic] = encode(self.material.texture_set, semantic)
        return self._images[semantic]

    def zip_bytes(self) -> bytes:
        """Every delivered file (material.json included) in one zip, as written to disk."""
        if self.result is None:
            raise LookupError(f"job {self.job_id} has no result yet (state {self.state})")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for f in self.result.files:
                archive.write(f.path, arcname=f.name)
        return buffer.getvalue()

    def cancel(self, client: Client) -> str:
        response = client.cancel(self.job_id)
        return _state_name(response.state)


class JobBoard:
    """The page's jobs, by id. Files go to `work_dir/<job id>/`."""

    def __init__(self, client: Client, work_dir: Path):
        self.client = client
        self.work_dir = Path(work_dir)
        self._jobs: dict[str, JobView] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> JobView | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _adopt(self, stream, prompt: str) -> JobView:
        """Wait for the stream's first event (refusals raise grpc.RpcError here), then follow it."""
        events = iter(stream)
        first = next(events)
        job_id = check_job_id(first.job_id)
        with self._lock:
            existing = self._jobs.get(job_id)
            if existing is not None and existing.state in ("RUNNING", "SUCCEEDED"):
                stream.close()
                return existing
            folder = self.work_dir / job_id
            shutil.rmtree(folder, ignore_errors=True)
            view = JobView(job_id, folder, prompt)
            self._jobs[job_id] = view
            self._close_oldest()

        def follow() -> None:
            view._observe(first)
            view.follow(events)

        threading.Thread(target=follow, name=f"demo-ui-job-{job_id[:8]}", daemon=True).start()
        return view

    def _close_oldest(self) -> None:
        """Forget the oldest finished jobs beyond MAX_OPEN_JOBS (caller holds the lock)."""
        finished = [job_id for job_id, view in self._jobs.items() if view.finished]
        for job_id in finished[:max(0, len(self._jobs) - MAX_OPEN_JOBS)]:
            shutil.rmtree(self._jobs.pop(job_id).folder, ignore_errors=True)

    def submit(self, prompt: str, **params) -> JobView:
        """Start a Generate job (params as intrinsix_client.Client.generate); returns once accepted."""
        return self._adopt(self.client.submit(prompt, **params), prompt)

    def open(self, job_id: str) -> JobView:
        """Follow an existing job of this token (e.g. from the history): its progress and its files."""
        check_job_id(job_id)
        existing = self.get(job_id)
        if existing is not None and existing.state in ("RUNNING", "SUCCEEDED"):
            return existing
        return self._adopt(self.client.watch(job_id), "")

    def history(self) -> list[dict]:
        """This token's jobs, newest first (ListJobs), as JSON rows."""
        rows = []
        for job in self.client.jobs(limit=HISTORY_LIMIT):
            params = job.generate if job.WhichOneof("params") == "generate" else job.room
            prompt = params.prompt or " | ".join(params.branch_prompts)
            profile = texture_pb2.ExportProfile.Name(params.profile)[len("EXPORT_PROFILE_"):].lower() \
                if params.profile else ""
            size = f"{job.generate.width}x{job.generate.height}" if job.WhichOneof("params") == "generate" \
                else f"{job.room.texture_size}"
            rows.append({
                "job_id": job.job_id, "state": _state_name(job.state), "prompt": prompt, "profile": profile,
                "size": size, "seed": str(params.seed), "progress": round(job.progress, 4),
                "created_at": job.created_at.ToJsonString() if job.HasField("created_at") else None,
                "error": job.error.message if job.HasField("error") else "",
                "kind": "room" if job.WhichOneof("params") == "room" else "generate",
            })
        return rows
