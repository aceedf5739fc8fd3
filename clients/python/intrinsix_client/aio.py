"""The asyncio client (grpc.aio): the same operations as `Client`, as coroutines.

    async with AsyncClient("gpu-box:50051") as client:
        result = await client.generate("mossy cobblestone", out_dir="out", profile="godot")
        async for event in client.submit("rusty metal plate", profile="raw"):
            ...
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence

import grpc

from ._protocol import generate_request, job_pb2, room_requests, service_pb2, service_pb2_grpc
from .client import _StreamState
from .connection import TlsOptions, channel_setup, token_metadata
from .errors import StreamLost
from .writer import ResultWriter, TextureSetResult


class AsyncJobStream:
    """Async iterator over one job's events, re-attaching after dropped connections (JobStream)."""

    def __init__(self, client: AsyncClient, open_call: Callable, client_request_id: str, max_resumes: int = 5,
                 resume_delay: float = 0.5, job_id: str | None = None):
        self._client = client
        self._open_call = open_call
        self._state = _StreamState(client_request_id, max_resumes, resume_delay)
        self._state.job_id = job_id
        self._call = None

    job_id = property(lambda self: self._state.job_id)
    offset = property(lambda self: self._state.offset)
    resumes = property(lambda self: list(self._state.resumes))

    def __aiter__(self) -> AsyncIterator[job_pb2.JobEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[job_pb2.JobEvent]:
        state = self._state
        self._call = self._open_call()
        while True:
            error = None
            try:
                async for event in self._call:
                    ended = state.observe(event)
                    yield event
                    if ended:
                        return
            except grpc.RpcError as exc:
                error = exc
            await asyncio.sleep(state.next_delay(error))
            if state.job_id is None:
                state.job_id = await self._client._find_job(state.client_request_id)
            if state.job_id is None:
                self._call = self._open_call()
            else:
                state.resumes.append(state.offset)
                self._call = self._client._watch_call(state.job_id, state.offset)

    def close(self) -> None:
        self._state.closed = True
        if self._call is not None:
            self._call.cancel()

    async def cancel(self) -> service_pb2.CancelJobResponse:
        if self.job_id is None:
            raise RuntimeError("the job has not been accepted yet; iterate until the first event")
        return await self._client.cancel(self.job_id)


class AsyncClient:
    """asyncio client of an IntrinsiX server; arguments as `Client`."""

    def __init__(self, address: str, token: str | None = None, tls: bool | TlsOptions | None = None,
                 timeout: float = 30.0):
        credentials, options = channel_setup(tls)
        self._channel = (grpc.aio.secure_channel(address, credentials, options) if credentials is not None
                         else grpc.aio.insecure_channel(address, options))
        self._stub = service_pb2_grpc.TextureServiceStub(self._channel)
        self._metadata = token_metadata(token)
        self.timeout = timeout

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def wait_ready(self, timeout: float = 60.0) -> service_pb2.GetServerInfoResponse:
        end = time.monotonic() + timeout
        while True:
            try:
                info = await self._stub.GetServerInfo(service_pb2.GetServerInfoRequest(), metadata=self._metadata,
                                                      timeout=5)
                if info.ready:
                    return info
            except grpc.RpcError as exc:
                if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise
            if time.monotonic() > end:
                raise TimeoutError(f"the server was not ready within {timeout} s")
            await asyncio.sleep(0.2)

    async def server_info(self) -> service_pb2.GetServerInfoResponse:
        return await self._stub.GetServerInfo(service_pb2.GetServerInfoRequest(), metadata=self._metadata,
                                              timeout=self.timeout)

    async def models(self) -> list[service_pb2.ModelInfo]:
        response = await self._stub.ListModels(service_pb2.ListModelsRequest(), metadata=self._metadata,
                                               timeout=self.timeout)
        return list(response.models)

    def submit(self, prompt: str | Sequence[str], *, timeout: float | None = None, max_resumes: int = 5,
               **params) -> AsyncJobStream:
        request = generate_request(prompt, **params)
        return AsyncJobStream(self, lambda: self._stub.Generate(request, metadata=self._metadata, timeout=timeout),
                              request.client_request_id, max_resumes)

    async def generate(self, prompt: str | Sequence[str], out_dir: str | os.PathLike, *, on_progress=None,
                       on_preview=None, on_event=None, overwrite: bool = False, timeout: float | None = None,
                       max_resumes: int = 5, **params) -> TextureSetResult:
        """As Client.generate. Callbacks may be plain functions or coroutine functions."""
        stream = self.submit(prompt, timeout=timeout, max_resumes=max_resumes, **params)
        return await self._consume(stream, ResultWriter(out_dir, overwrite), on_progress, on_preview, on_event)

    async def texture_room(self, positions, triangles, uvs, prompt: str | Sequence[str], out_dir: str | os.PathLike,
                           *, on_progress=None, on_preview=None, on_event=None, overwrite: bool = False,
                           timeout: float | None = None, **params) -> TextureSetResult:
        request_id, requests = room_requests(positions, triangles, uvs, prompt, **params)
        uploaded = list(requests)
        stream = AsyncJobStream(self, lambda: self._stub.TextureRoom(iter(uploaded), metadata=self._metadata,
                                                                     timeout=timeout), request_id)
        return await self._consume(stream, ResultWriter(out_dir, overwrite), on_progress, on_preview, on_event)

    def watch(self, job_id: str, resume_offset: int = 0, result_only: bool = False) -> AsyncJobStream:
        stream = AsyncJobStream(self, lambda: self._watch_call(job_id, resume_offset, result_only), "", job_id=job_id)
        stream._state.offset = resume_offset
        return stream

    async def download(self, job_id: str, out_dir: str | os.PathLike, *, overwrite: bool = False,
                       on_progress=None) -> TextureSetResult:
        return await self._consume(self.watch(job_id), ResultWriter(out_dir, overwrite), on_progress, None, None)

    async def cancel(self, job_id: str) -> service_pb2.CancelJobResponse:
        return await self._stub.CancelJob(service_pb2.CancelJobRequest(job_id=job_id), metadata=self._metadata,
                                          timeout=self.timeout)

    async def job(self, job_id: str) -> job_pb2.JobInfo:
        response = await self._stub.GetJob(service_pb2.GetJobRequest(job_id=job_id), metadata=self._metadata,
                                           timeout=self.timeout)
        return response.job

    async def jobs(self, states: Sequence[int] = (), client_request_id: str = "",
                   limit: int | None = None) -> list[job_pb2.JobInfo]:
        found: list[job_pb2.JobInfo] = []
        token = ""
        while limit is None or len(found) < limit:
            page = await self._stub.ListJobs(service_pb2.ListJobsRequest(
                states=states, client_request_id=client_request_id, page_size=100, page_token=token),
                metadata=self._metadata, timeout=self.timeout)
            found.extend(page.jobs)
            token = page.next_page_token
            if not token:
                break
        return found if limit is None else found[:limit]

    def _watch_call(self, job_id: str, offset: int, result_only: bool = False):
        return self._stub.WatchJob(service_pb2.WatchJobRequest(job_id=job_id, resume_offset=offset,
                                                               result_only=result_only), metadata=self._metadata)

    async def _find_job(self, client_request_id: str) -> str | None:
        if not client_request_id:
            return None
        try:
            jobs = await self.jobs(client_request_id=client_request_id, limit=1)
        except grpc.RpcError:
            return None
        return jobs[0].job_id if jobs else None

    @staticmethod
    async def _consume(stream: AsyncJobStream, writer: ResultWriter, on_progress, on_preview,
                       on_event) -> TextureSetResult:
        async def call(callback, value) -> None:
            if callback is not None:
                outcome = callback(value)
                if asyncio.iscoroutine(outcome):
                    await outcome

        try:
            async for event in stream:
                await call(on_event, event)
                kind = event.WhichOneof("event")
                if kind == "progress":
                    await call(on_progress, event.progress)
                elif kind == "preview":
                    await call(on_preview, event.preview)
                result = writer.handle(event)
                if result is not None:
                    result.resumes = stream.resumes
                    return result
        except BaseException:
            writer.abort()
            stream.close()
            raise
        raise StreamLost(f"the stream of job {stream.job_id} ended without a result")
