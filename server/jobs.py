"""Jobs: the bounded queue, one worker per device, cancellation, deadlines, shutdown, retention,
and the fan-out of live events to every stream that watches a job.

Everything here runs on the server's event loop, except the backend calls, which run on one
single-thread executor per device (torch work blocks). Backend callbacks come back to the loop
with `call_soon_threadsafe`, so events reach streams in the order the backend reported them, and
all state changes happen on one thread: a CancelJob either lands before a job's final state is
committed (the job ends CANCELLED) or after it (the response says how it ended).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .backend import (
    BRANCHES,
    KIND_GENERATE,
    KIND_TEXTURE_ROOM,
    JobCancelled,
    RoomMesh,
    RoomTexturingUnavailable,
    TextureBackend,
)
from .config import ServerConfig
from .progress import STORING, ProgressSnapshot, ProgressTracker
from .protocol import (
    BRANCH_TO_ENUM,
    CANCELLED,
    FAILED,
    INTERRUPTED,
    KIND_TEXTURE_ROOM as PROTO_KIND_TEXTURE_ROOM,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    job_pb2,
)
from .store import ABORTED_CODE, JobRecord, JobStore

log = logging.getLogger("intrinsix.server")

# google.rpc.Code values used in JobError.
CODE_CANCELLED, CODE_INVALID_ARGUMENT, CODE_DEADLINE_EXCEEDED = 1, 3, 4
CODE_FAILED_PRECONDITION, CODE_INTERNAL, CODE_UNAVAILABLE = 9, 13, 14
# Largest preview event (all branches); bigger ones are dropped rather than risk a client's
# default 4 MiB receive limit.
MAX_PREVIEW_BYTES = 3 << 20
# How long a stopped job may take to reach its next step during shutdown.
STOP_TIMEOUT_S = 30.0


class QueueFull(Exception):
    def __init__(self, queued: int, capacity: int):
        super().__init__(f"the job queue is full ({queued} of {capacity} jobs queued); retry later")


class NotAccepting(Exception):
    """The server takes no new jobs (shutting down, or no device could load the model)."""


class JobNotFound(Exception):
    pass


@dataclass(frozen=True)
class Finished:
    """Sent to a job's subscribers once its final state is stored."""

    state: int


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, (0, 0) if it is not a PNG."""
    if len(png) >= 24 and png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR":
        return struct.unpack(">II", png[16:24])
    return 0, 0


class Job:
    """A QUEUED or RUNNING job (terminal jobs live in the store only)."""

    def __init__(self, record: JobRecord, params, mesh: RoomMesh | None, seed: int, deadline: float | None):
        self.record = record
        self.job_id = record.job_id
        self.owner = record.owner
        self.params = params  # backend GenerateParams / RoomParams
        self.mesh = mesh
        self.seed = seed
        self.deadline = deadline  # time.monotonic() value, or None
        self.state = QUEUED
        self.queue_position = 0
        self.progress = ProgressSnapshot("queued", 0, 0, 0.0)
        self.last_preview: job_pb2.JobPreview | None = None
        self.done = asyncio.Event()
        self.stop_reason: str | None = None  # "cancel", "deadline" or "shutdown"
        self._stop = threading.Event()
        self._subscribers: set[asyncio.Queue] = set()

    @property
    def kind(self) -> str:
        return KIND_TEXTURE_ROOM if self.record.kind == PROTO_KIND_TEXTURE_ROOM else KIND_GENERATE

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    def publish(self, item) -> None:
        # Unbounded per stream, but a job publishes at most a few events per denoising step.
        for queue in self._subscribers:
            queue.put_nowait(item)

    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stop.set()

    def should_stop(self) -> bool:
        """The backend's is_cancelled() (called from the worker thread)."""
        if not self._stop.is_set() and self.deadline is not None and time.monotonic() > self.deadline:
            self.request_stop("deadline")
        return self._stop.is_set()


def progress_message(job: Job) -> job_pb2.JobProgress:
    """The job's current progress as a protocol message."""
    p = job.progress
    return job_pb2.JobProgress(stage=p.stage, step=p.step, total=p.total, overall=p.overall,
                               queue_position=job.queue_position if job.state == QUEUED else 0)


class JobManager:
    def __init__(self, config: ServerConfig, store: JobStore, backends: Mapping[str, TextureBackend],
                 on_readiness: Callable[[bool], None] = lambda ready: None):
        self.config = config
        self.store = store
        self.backends = dict(backends)
        self.model = next(iter(self.backends.values())).describe()
        self.supports_room_texturing = all(b.describe().supports_room_texturing for b in self.backends.values())
        self._on_readiness = on_readiness
        self._queue: deque[Job] = deque()
        self._active: dict[str, Job] = {}
        self._work_available = asyncio.Event()
        self._executors = {d: ThreadPoolExecutor(1, thread_name_prefix=f"intrinsix-{d}") for d in self.backends}
        self._loaded: set[str] = set()
        self._load_errors: dict[str, str] = {}
        self._accepting = True
        self._tasks: list[asyncio.Task] = []

    # ---- state --------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        settled = len(self._loaded) + len(self._load_errors) == len(self.backends)
        return self._accepting and settled and bool(self._loaded)

    @property
    def devices(self) -> list[str]:
        return [d for d in self.backends if d not in self._load_errors]

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def running(self) -> int:
        return sum(1 for job in self._active.values() if job.state == RUNNING)

    def active(self, job_id: str) -> Job | None:
        return self._active.get(job_id)

    # ---- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        interrupted = self.store.recover(time.time())
        if interrupted:
            log.warning("marked %d job(s) from the previous run as INTERRUPTED", interrupted)
        self.store.expire(time.time() - self.config.retention_s)
        for device in self.backends:
            self._tasks.append(asyncio.create_task(self._worker(device), name=f"worker-{device}"))
        self._tasks.append(asyncio.create_task(self._retention_loop(), name="retention"))

    async def shutdown(self, grace_s: float) -> None:
        """Stop taking jobs; interrupt queued ones; give running ones `grace_s` to finish, then
        stop them at their next step (INTERRUPTED)."""
        if not self._accepting:
            return
        self._accepting = False
        self._on_readiness(False)
        while self._queue:
            job = self._queue.popleft()
            self._finish(job, INTERRUPTED, ABORTED_CODE, "the server shut down before this job started; submit it again")
        self._work_available.set()
        running = [job for job in self._active.values() if job.state == RUNNING]
        if running:
            log.info("shutdown: waiting up to %.0f s for %d running job(s)", grace_s, len(running))
            await asyncio.wait([asyncio.create_task(job.done.wait()) for job in running], timeout=grace_s)
        running = [job for job in self._active.values() if job.state == RUNNING]
        for job in running:
            job.request_stop("shutdown")
        if running:
            await asyncio.wait([asyncio.create_task(job.done.wait()) for job in running], timeout=STOP_TIMEOUT_S)
        for job in list(self._active.values()):  # a backend that never checked is_cancelled()
            self._finish(job, INTERRUPTED, ABORTED_CODE, "the server shut down while this job was running")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for executor in self._executors.values():
            executor.shutdown(wait=False, cancel_futures=True)

    # ---- submit / cancel ----------------------------------------------------------------------
    def submit(self, owner: str, kind: int, client_request_id: str, params, params_proto, *,
               deadline: float | None = None, mesh: RoomMesh | None = None) -> Job:
        """Queue a job (call on the loop). Raises NotAccepting or QueueFull."""
        if not self._accepting:
            raise NotAccepting("the server is shutting down and takes no new jobs")
        if self._load_errors and not self.devices:
            raise NotAccepting(f"the model failed to load on every device: {self._load_errors}")
        if len(self._queue) >= self.config.queue_size:
            raise QueueFull(len(self._queue), self.config.queue_size)
        record = JobRecord(job_id=uuid.uuid4().hex, owner=owner, kind=kind, state=QUEUED,
                           client_request_id=client_request_id, params=params_proto.SerializeToString(),
                           created_at=time.time())
        self.store.insert(record)
        job = Job(record, params, mesh, params_proto.seed, deadline)
        job.queue_position = len(self._queue)
        job.progress = ProgressSnapshot("queued", 0, 0, 0.0)
        self._active[job.job_id] = job
        self._queue.append(job)
        if deadline is not None:
            asyncio.get_running_loop().call_later(max(deadline - time.monotonic(), 0.0), self._deadline_in_queue, job)
        self._work_available.set()
        return job

    def cancel(self, job_id: str, owner: str) -> tuple[int, bool]:
        """(state after the request, whether the job will end CANCELLED). Raises JobNotFound."""
        job = self._active.get(job_id)
        if job is not None and job.owner == owner:
            if job.state == QUEUED:
                self._queue.remove(job)
                self._finish(job, CANCELLED, CODE_CANCELLED, "cancelled by CancelJob before it started")
                self._publish_positions()
                return CANCELLED, True
            job.request_stop("cancel")
            return job.state, job.stop_reason == "cancel"
        record = self.store.get(job_id)
        if record is None or record.owner != owner:
            raise JobNotFound(job_id)
        return record.state, record.state == CANCELLED

    def _deadline_in_queue(self, job: Job) -> None:
        if job.state == QUEUED and job.job_id in self._active:
            self._queue.remove(job)
            self._finish(job, FAILED, CODE_DEADLINE_EXCEEDED, "the request's deadline passed before the job started")
            self._publish_positions()

    def _publish_positions(self) -> None:
        for position, job in enumerate(self._queue):
            if job.queue_position != position:
                job.queue_position = position
                job.progress = ProgressSnapshot("queued", 0, 0, 0.0)
                job.publish(job_pb2.JobProgress(stage="queued", queue_position=position))

    def _finish(self, job: Job, state: int, code: int = 0, message: str = "") -> None:
        job.state = state
        self.store.set_finished(job.job_id, state, time.time(), code, message)
        self._active.pop(job.job_id, None)
        job.publish(Finished(state))
        job.done.set()
        log.info("job %s %s%s", job.job_id, job_pb2.JobState.Name(state), f": {message}" if message else "")

    # ---- workers ------------------------------------------------------------------------------
    async def _worker(self, device: str) -> None:
        loop = asyncio.get_running_loop()
        backend = self.backends[device]
        started = time.monotonic()
        try:
            await loop.run_in_executor(self._executors[device], backend.load)
        except Exception as exc:  # noqa: BLE001 - reported, and the device is left out
            log.exception("loading the model on %s failed", device)
            self._load_errors[device] = f"{type(exc).__name__}: {exc}"
            if not self.devices:
                while self._queue:
                    self._finish(self._queue.popleft(), FAILED, CODE_UNAVAILABLE,
                                 f"the model failed to load on every device: {self._load_errors}")
            self._on_readiness(self.ready)
            return
        self._loaded.add(device)
        log.info("model %r loaded on %s in %.1f s", self.model.name, device, time.monotonic() - started)
        self._on_readiness(self.ready)
        while True:
            job = await self._next_job()
            if job is None:
                return
            await self._run(job, device, backend)

    async def _next_job(self) -> Job | None:
        while True:
            if self._queue:
                job = self._queue.popleft()
                self._publish_positions()
                return job
            if not self._accepting:
                return None
            self._work_available.clear()
            await self._work_available.wait()

    async def _run(self, job: Job, device: str, backend: TextureBackend) -> None:
        loop = asyncio.get_running_loop()
        if job.should_stop():  # the deadline passed while it was queued
            self._finish_stopped(job)
            return
        job.state = RUNNING
        job.record.device = device
        self.store.set_running(job.job_id, device, time.time())
        tracker = ProgressTracker(backend.progress_stages(job.kind))
        job.progress = tracker.update("loading", 0, 0)
        job.publish(progress_message(job))

        def on_progress(stage: str, step: int, total: int) -> None:
            loop.call_soon_threadsafe(self._on_progress, job, tracker, stage, step, total)

        def on_preview(step: int, total: int, images: Mapping[str, bytes]) -> None:
            loop.call_soon_threadsafe(self._on_preview, job, step, total, dict(images))

        def work():
            if job.kind == KIND_TEXTURE_ROOM:
                return backend.texture_room(job.params, job.mesh, on_progress, on_preview, job.should_stop)
            return backend.generate(job.params, on_progress, on_preview, job.should_stop)

        executor = self._executors[device]
        try:
            result = await loop.run_in_executor(executor, work)
            if job.stop_reason == "cancel":
                raise JobCancelled()
            self._on_progress(job, tracker, STORING, 0, 1)
            files = await loop.run_in_executor(executor, self.store.write_result, job.job_id, result)
            if job.stop_reason == "cancel":
                self.store.discard_result(job.job_id)
                raise JobCancelled()
        except JobCancelled:
            self._finish_stopped(job)
        except RoomTexturingUnavailable as exc:
            self._finish(job, FAILED, CODE_FAILED_PRECONDITION, str(exc))
        except ValueError as exc:
            self._finish(job, FAILED, CODE_INVALID_ARGUMENT, f"the model cannot run these parameters: {exc}")
        except Exception as exc:  # noqa: BLE001 - any backend fault ends this job, not the worker
            log.exception("job %s failed on %s", job.job_id, device)
            self.store.discard_result(job.job_id)
            self._finish(job, FAILED, CODE_INTERNAL, f"internal error while running the job: {type(exc).__name__}: {exc}")
        else:
            manifest = next((f.data for f in reversed(result.files) if f.semantic == "manifest"), b"")
            self.store.set_succeeded(job.job_id, files, manifest.decode("utf-8", "replace"), result.material_name,
                                     result.profile, time.time())
            job.progress = tracker.complete()
            job.publish(progress_message(job))
            job.state = SUCCEEDED
            self._active.pop(job.job_id, None)
            job.publish(Finished(SUCCEEDED))
            job.done.set()
            log.info("job %s SUCCEEDED on %s: %d files, %d bytes", job.job_id, device, len(files),
                     sum(f["bytes"] for f in files))

    def _finish_stopped(self, job: Job) -> None:
        reason = job.stop_reason
        if reason == "deadline":
            self._finish(job, FAILED, CODE_DEADLINE_EXCEEDED, "the request's deadline passed; the job was stopped")
        elif reason == "shutdown":
            self._finish(job, INTERRUPTED, ABORTED_CODE, "the server shut down while this job was running; submit it again")
        else:
            self._finish(job, CANCELLED, CODE_CANCELLED, "cancelled by CancelJob")

    def _on_progress(self, job: Job, tracker: ProgressTracker, stage: str, step: int, total: int) -> None:
        if job.state != RUNNING:
            return
        job.progress = tracker.update(stage, step, total)
        job.publish(progress_message(job))

    def _on_preview(self, job: Job, step: int, total: int, images: dict[str, bytes]) -> None:
        if job.state != RUNNING:
            return
        if sum(len(png) for png in images.values()) > MAX_PREVIEW_BYTES:
            log.warning("job %s: preview of step %d dropped (over %d bytes)", job.job_id, step, MAX_PREVIEW_BYTES)
            return
        message = job_pb2.JobPreview(step=step, total=total)
        for branch in BRANCHES:
            if branch in images:
                width, height = png_size(images[branch])
                message.images.add(branch=BRANCH_TO_ENUM[branch], png=images[branch], width=width, height=height)
        job.last_preview = message
        job.publish(message)

    async def _retention_loop(self) -> None:
        interval = min(max(self.config.retention_s / 4, 1.0), 3600.0)
        while True:
            await asyncio.sleep(interval)
            expired = self.store.expire(time.time() - self.config.retention_s)
            if expired:
                log.info("retention: deleted %d expired job(s)", len(expired))
