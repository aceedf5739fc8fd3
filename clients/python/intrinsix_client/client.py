"""The blocking client.

    from intrinsix_client import Client

    with Client("gpu-box:50051", token="...") as client:
        result = client.generate("polished walnut parquet", out_dir="textures/walnut", profile="unreal",
                                 on_progress=lambda p: print(f"{p.overall:.0%} {p.stage}"))
        print([f.path for f in result.files])

A job outlives its stream: when the connection drops, the stream re-attaches with WatchJob and
continues the texture data from the last stored byte (`JobStream`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence

import grpc

from ._protocol import (
    RESUMABLE_CODES,
    generate_request,
    job_pb2,
    room_requests,
    service_pb2,
    service_pb2_grpc,
)
from .connection import TlsOptions, channel_setup, token_metadata
from .errors import StreamLost
from .writer import ResultWriter, TextureSetResult

TERMINAL_EVENTS = ("completed", "failed")


class _StreamState:
    """What a job stream has seen: job id, result offset, resumes (shared by sync and async)."""

    def __init__(self, client_request_id: str, max_resumes: int, resume_delay: float):
        self.client_request_id = client_request_id
        self.max_resumes = max_resumes
        self.resume_delay = resume_delay
        self.job_id: str | None = None
        self.offset = 0  # bytes of the result stream received
        self.resumes: list[int] = []  # offsets at which the stream was re-attached
        self.failures = 0
        self.closed = False

    def observe(self, event: job_pb2.JobEvent) -> bool:
        """Record an event; True if it ends the job stream."""
        self.job_id = self.job_id or event.job_id
        kind = event.WhichOneof("event")
        if kind == "texture_chunk":
            self.offset = event.texture_chunk.result_offset + len(event.texture_chunk.data)
        return kind in TERMINAL_EVENTS

    def next_delay(self, error: grpc.RpcError | None) -> float:
        """Seconds to wait before re-attaching, or raise if this failure is final."""
        code = error.code() if error is not None else None
        resumable = error is None or code.name in RESUMABLE_CODES or (code == grpc.StatusCode.CANCELLED and not self.closed)
        if not resumable:
            raise error
        self.failures += 1
        if self.failures > self.max_resumes:
            raise StreamLost(f"the stream of job {self.job_id or '(not yet accepted)'} failed {self.failures} times "
                             f"(last: {code.name if code else 'ended early'}); the job may still run: "
                             "re-attach later with watch(job_id)") from error
        return min(self.resume_delay * 2 ** (self.failures - 1), 10.0)


class JobStream:
    """Iterator over one job's events (`JobEvent` messages) that survives dropped connections:
    after UNAVAILABLE/INTERNAL/UNKNOWN it waits, re-attaches with WatchJob and resumes the texture
    data at `offset`. A stream that dropped before the job id arrived finds its job through its
    client_request_id (ListJobs); if none exists the request is sent again."""

    def __init__(self, client: Client, open_call: Callable[[], Iterator[job_pb2.JobEvent]], client_request_id: str,
                 max_resumes: int = 5, resume_delay: float = 0.5, job_id: str | None = None):
        self._client = client
        self._open_call = open_call
        self._state = _StreamState(client_request_id, max_resumes, resume_delay)
        self._state.job_id = job_id
        self._call = None

    job_id = property(lambda self: self._state.job_id)
    offset = property(lambda self: self._state.offset)
    resumes = property(lambda self: list(self._state.resumes))

    def __iter__(self) -> Iterator[job_pb2.JobEvent]:
        state = self._state
        self._call = self._open_call()
        while True:
            error = None
            try:
                for event in self._call:
                    ended = state.observe(event)
                    yield event
                    if ended:
                        return
            except grpc.RpcError as exc:
                error = exc
            time.sleep(state.next_delay(error))
            if state.job_id is None:
                state.job_id = self._client._find_job(state.client_request_id)
            if state.job_id is None:
                self._call = self._open_call()  # the job was never created: send the request again
            else:
                state.resumes.append(state.offset)
                self._call = self._client._watch_call(state.job_id, state.offset)

    def close(self) -> None:
        """Stop reading (the job keeps running on the server; see cancel())."""
        self._state.closed = True
        if self._call is not None:
            self._call.cancel()

    def cancel(self) -> service_pb2.CancelJobResponse:
        """Cancel the job on the server (it stops at its next step)."""
        if self.job_id is None:
            raise RuntimeError("the job has not been accepted yet; iterate until the first event")
        return self._client.cancel(self.job_id)


class Client:
    """Blocking client of an IntrinsiX server.

    address: "host:port". token: bearer token (None: $INTRINSIX_TOKEN if set). tls: None/False for
    plaintext, True for TLS with the system roots, or TlsOptions. timeout: default deadline in
    seconds of the short calls (job info, cancel, listing)."""

    def __init__(self, address: str, token: str | None = None, tls: bool | TlsOptions | None = None,
                 timeout: float = 30.0):
        credentials, options = channel_setup(tls)
        self._channel = (grpc.secure_channel(address, credentials, options) if credentials is not None
                         else grpc.insecure_channel(address, options))
        self._stub = service_pb2_grpc.TextureServiceStub(self._channel)
        self._metadata = token_metadata(token)
        self.timeout = timeout

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- server ---------------------------------------------------------------------------------
    def wait_ready(self, timeout: float = 60.0) -> service_pb2.GetServerInfoResponse:
        """Block until the server is reachable and its model is loaded; returns its info."""
        end = time.monotonic() + timeout
        while True:
            try:
                info = self._stub.GetServerInfo(service_pb2.GetServerInfoRequest(), metadata=self._metadata, timeout=5)
                if info.ready:
                    return info
            except grpc.RpcError as exc:
                if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise
            if time.monotonic() > end:
                raise TimeoutError(f"the server was not ready within {timeout} s")
            time.sleep(0.2)

    def server_info(self) -> service_pb2.GetServerInfoResponse:
        return self._stub.GetServerInfo(service_pb2.GetServerInfoRequest(), metadata=self._metadata, timeout=self.timeout)

    def models(self) -> list[service_pb2.ModelInfo]:
        return list(self._stub.ListModels(service_pb2.ListModelsRequest(), metadata=self._metadata,
                                          timeout=self.timeout).models)

    # ---- jobs -----------------------------------------------------------------------------------
    def submit(self, prompt: str | Sequence[str], *, timeout: float | None = None, max_resumes: int = 5,
               **params) -> JobStream:
        """Start a Generate job; returns its event stream (iterate it). `params` as generate()."""
        request = generate_request(prompt, **params)
        return JobStream(self, lambda: self._stub.Generate(request, metadata=self._metadata, timeout=timeout),
                         request.client_request_id, max_resumes)

    def generate(self, prompt: str | Sequence[str], out_dir: str | os.PathLike, *,
                 on_progress: Callable[[job_pb2.JobProgress], None] | None = None,
                 on_preview: Callable[[job_pb2.JobPreview], None] | None = None,
                 on_event: Callable[[job_pb2.JobEvent], None] | None = None, overwrite: bool = False,
                 timeout: float | None = None, max_resumes: int = 5, **params) -> TextureSetResult:
        """Generate a texture set and write it to `out_dir`; returns when every file is stored
        and verified. Raises JobFailed if the job fails or is cancelled.

        prompt: text, or 3 texts (albedo, material, normal). params: negative_prompt,
        true_cfg_scale, seed, steps, guidance, size / width / height, tileable, profile ("unreal",
        "godot", "gltf", "unity", "raw"), formats (e.g. ["png16"]), material_name, preview_every,
        preview_size, client_request_id. timeout: deadline of the whole job in seconds."""
        stream = self.submit(prompt, timeout=timeout, max_resumes=max_resumes, **params)
        return self._consume(stream, ResultWriter(out_dir, overwrite), on_progress, on_preview, on_event)

    def texture_room(self, positions, triangles, uvs, prompt: str | Sequence[str], out_dir: str | os.PathLike, *,
                     on_progress=None, on_preview=None, on_event=None, overwrite: bool = False,
                     timeout: float | None = None, **params) -> TextureSetResult:
        """Texture a mesh (positions [V, 3], triangles [F, 3], uvs [V, 2] or None) from text; the
        result is written to `out_dir`. params as generate(), with texture_size instead of size."""
        request_id, requests = room_requests(positions, triangles, uvs, prompt, **params)
        uploaded = list(requests)  # sent again only if the stream drops before the job exists

        stream = JobStream(self, lambda: self._stub.TextureRoom(iter(uploaded), metadata=self._metadata,
                                                                timeout=timeout), request_id)
        return self._consume(stream, ResultWriter(out_dir, overwrite), on_progress, on_preview, on_event)

    def watch(self, job_id: str, resume_offset: int = 0, result_only: bool = False) -> JobStream:
        """Re-attach to a job: its events from now on, the result from `resume_offset`."""
        stream = JobStream(self, lambda: self._watch_call(job_id, resume_offset, result_only), "", job_id=job_id)
        stream._state.offset = resume_offset
        return stream

    def download(self, job_id: str, out_dir: str | os.PathLike, *, overwrite: bool = False,
                 on_progress=None) -> TextureSetResult:
        """Write the files of a job (waiting for it to finish if needed) to `out_dir`."""
        return self._consume(self.watch(job_id), ResultWriter(out_dir, overwrite), on_progress, None, None)

    def cancel(self, job_id: str) -> service_pb2.CancelJobResponse:
        return self._stub.CancelJob(service_pb2.CancelJobRequest(job_id=job_id), metadata=self._metadata,
                                    timeout=self.timeout)

    def job(self, job_id: str) -> job_pb2.JobInfo:
        return self._stub.GetJob(service_pb2.GetJobRequest(job_id=job_id), metadata=self._metadata,
                                 timeout=self.timeout).job

    def jobs(self, states: Sequence[int] = (), client_request_id: str = "", limit: int | None = None) -> list[job_pb2.JobInfo]:
        """This token's jobs, newest first (all pages, up to `limit`)."""
        found: list[job_pb2.JobInfo] = []
        token = ""
        while limit is None or len(found) < limit:
            page = self._stub.ListJobs(service_pb2.ListJobsRequest(states=states, client_request_id=client_request_id,
                                                                   page_size=100, page_token=token),
                                       metadata=self._metadata, timeout=self.timeout)
            found.extend(page.jobs)
            token = page.next_page_token
            if not token:
                break
        return found if limit is None else found[:limit]

    # ---- internals ------------------------------------------------------------------------------
    def _watch_call(self, job_id: str, offset: int, result_only: bool = False):
        return self._stub.WatchJob(service_pb2.WatchJobRequest(job_id=job_id, resume_offset=offset,
                                                               result_only=result_only), metadata=self._metadata)

    def _find_job(self, client_request_id: str) -> str | None:
        if not client_request_id:
            return None
        try:
            jobs = self.jobs(client_request_id=client_request_id, limit=1)
        except grpc.RpcError:
            return None
        return jobs[0].job_id if jobs else None

    @staticmethod
    def _consume(stream: JobStream, writer: ResultWriter, on_progress, on_preview, on_event) -> TextureSetResult:
        try:
            for event in stream:
                if on_event is not None:
                    on_event(event)
                kind = event.WhichOneof("event")
                if kind == "progress" and on_progress is not None:
                    on_progress(event.progress)
                elif kind == "preview" and on_preview is not None:
                    on_preview(event.preview)
                result = writer.handle(event)
                if result is not None:
                    result.resumes = stream.resumes
                    return result
        except BaseException:
            writer.abort()
            stream.close()
            raise
        raise StreamLost(f"the stream of job {stream.job_id} ended without a result")
