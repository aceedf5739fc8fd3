"""Assembly of the gRPC server: TextureService + grpc.health.v1 + reflection, TLS, start and a
graceful stop.

    server = IntrinsiXServer(config, backend_factory)
    await server.start()          # binds; models load in the background (health NOT_SERVING)
    await server.wait_ready()     # optional
    ...
    await server.stop()           # graceful: see JobManager.shutdown
"""

from __future__ import annotations

import asyncio
import logging

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from .auth import TokenAuth
from .backend import BackendFactory
from .config import MAX_CHUNK_BYTES, ServerConfig
from .jobs import JobManager
from .protocol import SERVICE_NAME
from .service import TextureService
from .store import JobStore
from .wire import service_handler

log = logging.getLogger("intrinsix.server")

# Largest message the server accepts: a 1 MiB mesh chunk plus framing. Bigger messages are refused
# by gRPC itself (RESOURCE_EXHAUSTED) before they are buffered.
MAX_RECEIVE_BYTES = MAX_CHUNK_BYTES + (64 << 10)
# Largest message it sends: previews of three branches (JobManager caps them at 3 MiB).
MAX_SEND_BYTES = 4 << 20


def _server_version() -> str:
    try:
        from intrinsix import __version__

        return __version__
    except ImportError:  # pragma: no cover
        return "unknown"


class IntrinsiXServer:
    def __init__(self, config: ServerConfig, backend_factory: BackendFactory):
        self.config = config
        self._backend_factory = backend_factory
        self._server: grpc.aio.Server | None = None
        self._health: health.aio.HealthServicer | None = None
        self._store: JobStore | None = None
        self.manager: JobManager | None = None
        self.port: int | None = None
        self._ready = asyncio.Event()
        self._stopped = asyncio.Event()

    async def start(self) -> int:
        """Bind and start serving; returns the bound port. Models load in the background."""
        config = self.config
        backends = {device: self._backend_factory(device) for device in config.devices}
        self._store = JobStore(config.data_dir)
        self._health = health.aio.HealthServicer()
        self.manager = JobManager(config, self._store, backends, on_readiness=self._on_readiness)
        await self._set_health(False)

        self._server = grpc.aio.server(options=[
            ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
            ("grpc.max_send_message_length", MAX_SEND_BYTES),
            # Notice dead clients on idle streams (a job stream can be quiet for a long step).
            ("grpc.keepalive_time_ms", 60_000),
            ("grpc.keepalive_timeout_ms", 20_000),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ("grpc.keepalive_permit_without_calls", 1),
        ])
        self._server.add_generic_rpc_handlers([service_handler(
            TextureService(self.manager, config, TokenAuth(config.tokens), _server_version()))])
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            self._server)
        if config.tls is not None:
            key, cert, client_ca = config.tls.credentials_bytes()
            credentials = grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca,
                                                      require_client_auth=client_ca is not None)
            self.port = self._server.add_secure_port(config.address, credentials)
        else:
            self.port = self._server.add_insecure_port(config.address)
        if not self.port:
            raise OSError(f"cannot listen on {config.address}")
        await self._server.start()
        await self.manager.start()
        log.info("listening on %s (port %d; TLS %s; auth %s; devices %s; data in %s)", config.address, self.port,
                 "on" if config.tls else "off", f"{len(config.tokens)} token(s)" if config.tokens else "off",
                 ", ".join(config.devices), config.data_dir)
        return self.port

    def _on_readiness(self, ready: bool) -> None:
        asyncio.get_running_loop().create_task(self._set_health(ready))

    async def _set_health(self, ready: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
        for service in ("", SERVICE_NAME):
            await self._health.set(service, status)
        if ready:
            self._ready.set()
            log.info("ready: serving %s", SERVICE_NAME)

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def stop(self, grace_s: float | None = None) -> None:
        """Graceful stop: NOT_SERVING, no new jobs, queued jobs INTERRUPTED, running jobs get
        `grace_s` (default config.shutdown_grace_s) to finish, then open streams get
        config.stream_grace_s to deliver their last events."""
        if self._server is None or self._stopped.is_set():
            return
        grace = self.config.shutdown_grace_s if grace_s is None else grace_s
        await self.manager.shutdown(grace)
        await self._set_health(False)
        await self._server.stop(self.config.stream_grace_s)
        self._store.close()
        self._stopped.set()
        log.info("stopped")

    async def wait_for_termination(self) -> None:
        await self._stopped.wait()

