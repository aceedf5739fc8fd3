"""The gRPC servicer of intrinsix.v1.TextureService (grpc.aio).

Statuses before a job exists: UNAUTHENTICATED / PERMISSION_DENIED (token), INVALID_ARGUMENT (field
and allowed range in the message), RESOURCE_EXHAUSTED (queue full), UNAVAILABLE (shutting down),
UNIMPLEMENTED (room texturing not available), NOT_FOUND (unknown or foreign job id), OUT_OF_RANGE
(resume offset beyond the result). After that, a job's outcome travels in the stream.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import AsyncIterator

import grpc

from .auth import AuthError, TokenAuth
from .config import ServerConfig
from .jobs import Finished, Job, JobManager, JobNotFound, NotAccepting, QueueFull, progress_message
from .mesh import MeshUpload, parse_raw_mesh
from .messages import ChunkView, ResultMissing, job_info, result_events
from .protocol import (
    API_VERSION,
    KIND_GENERATE,
    KIND_TEXTURE_ROOM,
    PROFILE_TO_ENUM,
    QUEUED,
    SUCCEEDED,
    job_pb2,
    service_pb2,
    service_pb2_grpc,
    texture_pb2,
)
from .store import DATA_LOSS_CODE
from .validation import (
    InvalidArgument,
    check_job_id,
    validate_generate,
    validate_room_start,
)
from .wire import chunk_event

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class _Refused(Exception):
    """Ends a call with a status (raised inside handlers, turned into context.abort)."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


def _not_found(job_id: str) -> _Refused:
    return _Refused(grpc.StatusCode.NOT_FOUND,
                    f"no job {job_id} for this token (unknown, expired, or submitted with another token)")


class TextureService(service_pb2_grpc.TextureServiceServicer):
    def __init__(self, manager: JobManager, config: ServerConfig, auth: TokenAuth, server_version: str):
        self.manager = manager
        self.config = config
        self.auth = auth
        self.server_version = server_version

    # ---- shared helpers -----------------------------------------------------------------------
    def _owner(self, context: grpc.aio.ServicerContext) -> str:
        try:
            return self.auth.owner(context.invocation_metadata())
        except AuthError as exc:
            raise _Refused(exc.code, str(exc)) from None

    def _submit(self, context, owner: str, kind: int, client_request_id: str, params, resolved, mesh=None) -> Job:
        remaining = context.time_remaining()
        deadline = time.monotonic() + remaining if remaining is not None else None
        try:
            return self.manager.submit(owner, kind, client_request_id, params, resolved, deadline=deadline, mesh=mesh)
        except QueueFull as exc:
            raise _Refused(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc)) from None
        except NotAccepting as exc:
            raise _Refused(grpc.StatusCode.UNAVAILABLE, str(exc)) from None

    def _visible(self, job_id: str, owner: str):
        """(live job or None, stored record) of a job the caller may see; raises NOT_FOUND."""
        try:
            check_job_id(job_id)
        except InvalidArgument as exc:
            raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
        record = self.manager.store.get(job_id)
        if record is None or record.owner != owner:
            raise _not_found(job_id)
        return self.manager.active(job_id), record

    async def _job_stream(self, job: Job | None, job_id: str, client_request_id: str, resume_offset: int,
                          result_only: bool, reattached: bool) -> AsyncIterator[job_pb2.JobEvent]:
        """accepted, live progress/previews while the job runs, then the result or JobFailed."""
        def event(**fields) -> job_pb2.JobEvent:
            return job_pb2.JobEvent(job_id=job_id, client_request_id=client_request_id, **fields)

        store = self.manager.store
        if job is not None:
            updates = job.subscribe()  # before any await: no event can slip between
            try:
                yield event(accepted=job_pb2.JobAccepted(
                    queue_position=job.queue_position if job.state == QUEUED else 0, state=job.state,
                    reattached=reattached, seed=job.seed, resume_offset=resume_offset))
                if reattached and not result_only:
                    yield event(progress=progress_message(job))
                    if job.last_preview is not None:
                        yield event(preview=job.last_preview)
                while True:
                    item = await updates.get()
                    if isinstance(item, Finished):
                        break
                    if result_only:
                        continue
                    if isinstance(item, job_pb2.JobProgress):
                        yield event(progress=item)
                    else:
                        yield event(preview=item)
            finally:
                job.unsubscribe(updates)
            record = store.get(job_id)
        else:
            record = store.get(job_id)
            seed = self._stored_seed(record)
            yield event(accepted=job_pb2.JobAccepted(state=record.state, reattached=reattached, seed=seed,
                                                     resume_offset=resume_offset))

        if record.state != SUCCEEDED:
            yield event(failed=job_pb2.JobFailed(state=record.state, error=job_pb2.JobError(
                code=record.error_code, message=record.error_message)))
            return
        if resume_offset > record.total_bytes:
            raise _Refused(grpc.StatusCode.OUT_OF_RANGE, f"resume_offset: {resume_offset} is beyond the result; "
                                                         f"allowed 0..{record.total_bytes} bytes")
        try:
            for item in result_events(store, record, resume_offset, self.config.chunk_size):
                if isinstance(item, ChunkView):  # pre-encoded: the file bytes are copied once
                    yield chunk_event(job_id, client_request_id, item.file_index, item.offset, item.data, item.last,
                                      item.result_offset)
                elif isinstance(item, texture_pb2.TextureHeader):
                    yield event(texture_header=item)
                else:
                    yield event(completed=item)
        except ResultMissing as exc:
            yield event(failed=job_pb2.JobFailed(state=job_pb2.JOB_STATE_FAILED,
                                                 error=job_pb2.JobError(code=DATA_LOSS_CODE, message=str(exc))))

    @staticmethod
    def _stored_seed(record) -> int:
        params = job_pb2.RoomParams() if record.kind == KIND_TEXTURE_ROOM else job_pb2.GenerateParams()
        params.ParseFromString(record.params)
        return params.seed

    # ---- RPCs ---------------------------------------------------------------------------------
    async def Generate(self, request: service_pb2.GenerateRequest, context):
        try:
            owner = self._owner(context)
            try:
                params, resolved = validate_generate(request, self.config.limits, self.manager.model)
            except InvalidArgument as exc:
                raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
            job = self._submit(context, owner, KIND_GENERATE, request.client_request_id, params, resolved)
            async for event in self._job_stream(job, job.job_id, request.client_request_id, 0, False, False):
                yield event
        except _Refused as exc:
            await context.abort(exc.code, str(exc))

    async def TextureRoom(self, request_iterator, context):
        try:
            owner = self._owner(context)
            try:
                try:
                    first = await anext(request_iterator)
                except StopAsyncIteration:
                    raise InvalidArgument("start", "the upload was empty; send TextureRoomRequest.start first") from None
                if not first.HasField("start"):
                    raise InvalidArgument("start", "the first TextureRoomRequest must carry `start` (parameters and "
                                                   "mesh description), then the mesh as `mesh_chunk`s")
                start = first.start
                params, resolved = validate_room_start(start, self.config.limits, self.manager.model)
                upload = MeshUpload(start.mesh.byte_size)
                index = 0
                async for message in request_iterator:
                    if not message.HasField("mesh_chunk"):
                        raise InvalidArgument(f"mesh_chunk[{index}]", "after `start` every TextureRoomRequest must "
                                                                      "carry `mesh_chunk`")
                    upload.add(message.mesh_chunk.offset, message.mesh_chunk.data, index)
                    index += 1
                data = upload.finish(start.mesh.sha256)
                mesh = parse_raw_mesh(data, start.mesh.vertex_count, start.mesh.triangle_count, start.mesh.has_uvs)
            except InvalidArgument as exc:
                raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
            if not self.manager.supports_room_texturing:
                raise _Refused(grpc.StatusCode.UNIMPLEMENTED,
                               f"room texturing is not available on this server (model {self.manager.model.name!r} has "
                               "no room texturer); the upload was valid. GetServerInfo.room_texturing_available tells")
            job = self._submit(context, owner, KIND_TEXTURE_ROOM, start.client_request_id, params, resolved, mesh)
            async for event in self._job_stream(job, job.job_id, start.client_request_id, 0, False, False):
                yield event
        except _Refused as exc:
            await context.abort(exc.code, str(exc))

    async def WatchJob(self, request: service_pb2.WatchJobRequest, context):
        try:
            owner = self._owner(context)
            job, record = self._visible(request.job_id, owner)
            if job is None and record.state == SUCCEEDED and request.resume_offset > record.total_bytes:
                raise _Refused(grpc.StatusCode.OUT_OF_RANGE, f"resume_offset: {request.resume_offset} is beyond the "
                                                             f"result; allowed 0..{record.total_bytes} bytes")
            async for event in self._job_stream(job, record.job_id, record.client_request_id, request.resume_offset,
                                                request.result_only, True):
                yield event
        except _Refused as exc:
            await context.abort(exc.code, str(exc))

    async def CancelJob(self, request: service_pb2.CancelJobRequest, context):
        try:
            owner = self._owner(context)
            self._visible(request.job_id, owner)
            try:
                state, cancelled = self.manager.cancel(request.job_id, owner)
            except JobNotFound:
                raise _not_found(request.job_id) from None
            return service_pb2.CancelJobResponse(state=state, cancelled=cancelled)
        except _Refused as exc:
            await context.abort(exc.code, str(exc))

    async def GetJob(self, request: service_pb2.GetJobRequest, context):
        try:
            owner = self._owner(context)
            job, record = self._visible(request.job_id, owner)
            return service_pb2.GetJobResponse(job=job_info(record, job, self.config.retention_s))
        except _Refused as exc:
            await context.abort(exc.code, str(exc))

    async def ListJobs(self, request: service_pb2.ListJobsRequest, context):
        try:
            owner = self._owner(context)
            size = request.page_size or DEFAULT_PAGE_SIZE
            if size > MAX_PAGE_SIZE:
                raise _Refused(grpc.StatusCode.INVALID_ARGUMENT,
                               f"page_size: {size} is out of range; allowed 1..{MAX_PAGE_SIZE} (0 = {DEFAULT_PAGE_SIZE})")
            for i, state in enumerate(request.states):
                if state not in job_pb2.JobState.values() or state == job_pb2.JOB_STATE_UNSPECIFIED:
                    raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, f"states[{i}]: unknown value {state}")
            before = _decode_page_token(request.page_token) if request.page_token else None
            records = self.manager.store.list(owner, request.states, request.client_request_id, size + 1, before)
            response = service_pb2.ListJobsResponse()
            for record in records[:size]:
                response.jobs.append(job_info(record, self.manager.active(record.job_id), self.config.retention_s))
            if len(records) > size:
                last = records[size - 1]
                response.next_page_token = _encode_page_token(last.created_at, last.job_id)
            return response
        except _Refused as exc:
            await context.abort(exc.code, str(exc))

    async def ListModels(self, request, context):
        try:
            self._owner(context)
        except _Refused as exc:
            await context.abort(exc.code, str(exc))
        model = self.manager.model
        return service_pb2.ListModelsResponse(models=[service_pb2.ModelInfo(
            name=model.name, description=model.description, ready=self.manager.ready, devices=self.manager.devices,
            default_steps=model.default_steps, default_guidance=model.default_guidance,
            default_width=model.default_width, default_height=model.default_height,
            supports_tiling=model.supports_tiling, supports_room_texturing=self.manager.supports_room_texturing)])

    async def GetServerInfo(self, request, context):
        try:
            self._owner(context)
        except _Refused as exc:
            await context.abort(exc.code, str(exc))
        limits = self.config.limits
        return service_pb2.GetServerInfoResponse(
            server_version=self.server_version, api_version=API_VERSION, ready=self.manager.ready,
            auth_required=self.auth.enabled,
            limits=service_pb2.ServerLimits(
                max_prompt_chars=limits.max_prompt_chars, min_size=limits.min_size, max_size=limits.max_size,
                size_multiple=limits.size_multiple, min_steps=limits.min_steps, max_steps=limits.max_steps,
                max_guidance=limits.max_guidance, max_preview_size=limits.max_preview_size,
                max_client_request_id_chars=limits.max_client_request_id_chars,
                max_material_name_chars=limits.max_material_name_chars, max_mesh_bytes=limits.max_mesh_bytes,
                max_vertices=limits.max_vertices, max_triangles=limits.max_triangles),
            queue_capacity=self.config.queue_size, queued=self.manager.queued, running=self.manager.running,
            devices=self.manager.devices, profiles=list(PROFILE_TO_ENUM.values()), chunk_size=self.config.chunk_size,
            retention_seconds=int(self.config.retention_s),
            room_texturing_available=self.manager.supports_room_texturing)


def _encode_page_token(created_at: float, job_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at!r}/{job_id}".encode()).decode()


def _decode_page_token(token: str) -> tuple[float, str]:
    try:
        created, job_id = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii").split("/")
        check_job_id(job_id)
        return float(created), job_id
    except (ValueError, binascii.Error, UnicodeError):
        raise _Refused(grpc.StatusCode.INVALID_ARGUMENT,
                       "page_token: not a token from a previous ListJobs response") from None
