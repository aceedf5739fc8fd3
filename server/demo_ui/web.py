"""The demo's HTTP side: one static page (static/) and a small JSON/SSE API over the JobBoard.

    GET  /                                 the page (static/index.html, app.js, viewer3d.js, style.css)
    GET  /api/info                         server version, readiness, limits, profiles, model defaults
    POST /api/generate                     {prompt, seed?, size?, steps?, tileable?, profile, preview_every?}
                                           -> {job_id} once the server accepted the job
    GET  /api/history                      this token's jobs (ListJobs), newest first
    POST /api/jobs/<id>/open               follow a job from the history (WatchJob) -> {job_id}
    POST /api/jobs/<id>/cancel             CancelJob -> {state}
    GET  /api/jobs/<id>/events             Server-Sent Events (jobs.py lists them); replayed from Last-Event-ID
    GET  /api/jobs/<id>/result             the result summary (files, maps, URLs)
    GET  /api/jobs/<id>/maps/<map>.png     a decoded map (display.map_png)
    GET  /api/jobs/<id>/render.png?lat=&lon=   the relit render (display.render_png)
    GET  /api/jobs/<id>/files.zip          the delivered engine-profile files

Guards: the page and API answer only to loopback host names when bound to loopback (no DNS
rebinding), POSTs need a JSON body and a same-origin Origin (no cross-site requests riding on the
demo's token), and the Content-Security-Policy lets the page load nothing from elsewhere.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import grpc
from intrinsix_client import IntrinsiXError, texture_pb2

from .display import MAP_LABELS, map_png, parse_light, render_png
from .jobs import PROFILES, JobBoard, JobView, check_job_id

log = logging.getLogger("intrinsix.server.demo_ui")
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
                "viewer3d.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
MAX_BODY_BYTES = 64 * 1024
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}
CSP = ("default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
SSE_KEEPALIVE_S = 15.0
RENDER_CACHE_ENTRIES = 64
# A finished job's images never change: the page (maps, 3D viewer) may reuse them.
IMMUTABLE = {"Cache-Control": "private, max-age=3600, immutable"}
_STATUS_FOR_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: HTTPStatus.BAD_REQUEST, grpc.StatusCode.OUT_OF_RANGE: HTTPStatus.BAD_REQUEST,
    grpc.StatusCode.NOT_FOUND: HTTPStatus.NOT_FOUND, grpc.StatusCode.RESOURCE_EXHAUSTED: HTTPStatus.TOO_MANY_REQUESTS,
    grpc.StatusCode.UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    grpc.StatusCode.FAILED_PRECONDITION: HTTPStatus.CONFLICT,
}
_JOB_ROUTE = re.compile(r"^/api/jobs/([0-9a-f]{32})/"
                        r"(open|cancel|events|result|files\.zip|render\.png|maps/([a-z_]+)\.png)$")


class HTTPError(Exception):
    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


def generate_options(body: dict) -> tuple[str, dict]:
    """(prompt, intrinsix_client submit() parameters) from the page's JSON form; HTTPError 400
    naming the field for values of the wrong type. Ranges are the server's to check (its
    INVALID_ARGUMENT message is shown on the page)."""
    if not isinstance(body, dict):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "the request body must be a JSON object")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise HTTPError(HTTPStatus.BAD_REQUEST, "prompt: must be a non-empty text")
    params: dict = {}
    for field in ("seed", "size", "steps", "preview_every"):
        value = body.get(field)
        if value is None or value == "":
            continue
        try:
            number = int(value, 10) if isinstance(value, str) else value
        except ValueError:
            number = None
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"{field}: must be a whole number >= 0, got {value!r}")
        params[field] = number
    profile = body.get("profile", "unreal")
    if profile not in PROFILES:
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"profile: must be one of {PROFILES}, got {profile!r}")
    params["profile"] = profile
    tileable = body.get("tileable", False)
    if not isinstance(tileable, bool):
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"tileable: must be true or false, got {tileable!r}")
    params["tileable"] = tileable
    return prompt, params


class DemoApp:
    """What the HTTP handler serves: the SDK client, the job board, cached images."""

    def __init__(self, board: JobBoard, server_address: str, bind_host: str):
        self.board = board
        self.client = board.client
        self.server_address = server_address
        self.bind_host = bind_host
        self._renders: dict[tuple, bytes] = {}
        self._renders_lock = threading.Lock()

    def info(self) -> dict:
        info = self.client.server_info()
        models = self.client.models()
        lim = info.limits
        model = models[0] if models else None
        return {
            "server": self.server_address, "version": info.server_version, "api": info.api_version,
            "ready": info.ready, "auth_required": info.auth_required, "devices": list(info.devices),
            "queued": info.queued, "running": info.running,
            "profiles": [texture_pb2.ExportProfile.Name(p)[len("EXPORT_PROFILE_"):].lower() for p in info.profiles],
            "limits": {"min_size": lim.min_size, "max_size": lim.max_size, "size_multiple": lim.size_multiple,
                       "min_steps": lim.min_steps, "max_steps": lim.max_steps,
                       "max_prompt_chars": lim.max_prompt_chars},
            "model": None if model is None else {
                "name": model.name, "description": model.description, "default_steps": model.default_steps,
                "default_width": model.default_width, "default_height": model.default_height,
                "supports_tiling": model.supports_tiling},
        }

    def job(self, job_id: str) -> JobView:
        view = self.board.get(job_id)
        if view is None:
            raise HTTPError(HTTPStatus.NOT_FOUND, f"job {job_id} is not open on this page; open it from the history")
        return view

    def finished_job(self, job_id: str) -> JobView:
        view = self.job(job_id)
        if view.material is None:
            raise HTTPError(HTTPStatus.CONFLICT, f"job {job_id} has no result to show (state {view.state})")
        return view

    def render(self, view: JobView, latitude: float, longitude: float) -> bytes:
        key = (view.job_id, latitude, longitude)
        with self._renders_lock:
            cached = self._renders.get(key)
        if cached is not None:
            return cached
        png = render_png(view.material.texture_set, latitude, longitude)
        with self._renders_lock:
            if len(self._renders) >= RENDER_CACHE_ENTRIES:
                self._renders.pop(next(iter(self._renders)))
            self._renders[key] = png
        return png


def _host_allowed(host_header: str | None, bind_host: str) -> bool:
    """Loopback-bound demos answer only to loopback names (DNS rebinding cannot reach them)."""
    if bind_host not in LOOPBACK_NAMES and not bind_host.startswith("127."):
        return True
    if not host_header:
        return False
    name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    name = name.strip("[]").lower()
    return name in LOOPBACK_NAMES or name.startswith("127.")


class DemoHandler(BaseHTTPRequestHandler):
    app: DemoApp  # set on the subclass made by make_server
    server_version = "IntrinsiXDemo/1"

    def log_message(self, format: str, *args) -> None:  # quiet: the page polls nothing, but SSE reconnects
        pass

    # ---- plumbing ---------------------------------------------------------------------------------
    def _send(self, status: HTTPStatus, body: bytes, content_type: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        extra = dict(extra or {})
        self.send_header("Cache-Control", extra.pop("Cache-Control", "no-store"))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, payload, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json")

    def _body(self) -> dict:
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            raise HTTPError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "POST bodies must be application/json")
        origin = self.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != self.headers.get("Host"):
            raise HTTPError(HTTPStatus.FORBIDDEN, f"cross-origin request from {origin!r} refused")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {length} bytes; at most {MAX_BODY_BYTES}")
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as exc:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"the body is not valid JSON: {exc}") from None

    def _dispatch(self, method: str) -> None:
        try:
            if not _host_allowed(self.headers.get("Host"), self.app.bind_host):
                raise HTTPError(HTTPStatus.MISDIRECTED_REQUEST, "this demo answers to localhost names only")
            url = urlsplit(self.path)
            self._route(method, url.path, parse_qs(url.query))
        except HTTPError as exc:
            self._json({"error": str(exc)}, exc.status)
        except grpc.RpcError as exc:
            status = _STATUS_FOR_CODE.get(exc.code(), HTTPStatus.BAD_GATEWAY)
            self._json({"error": f"{exc.code().name}: {exc.details()}", "grpc_code": exc.code().name}, status)
        except IntrinsiXError as exc:  # e.g. StreamLost: the server could not be reached in time
            self._json({"error": str(exc)}, HTTPStatus.BAD_GATEWAY)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away
        except Exception as exc:  # a fault of the demo itself: say so on the page, log the trace
            log.exception("demo-ui: %s %s failed", method, self.path)
            self._json({"error": f"internal error of the demo: {type(exc).__name__}: {exc}"},
                       HTTPStatus.INTERNAL_SERVER_ERROR)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # ---- routes -----------------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict) -> None:
        app = self.app
        if method == "GET" and (path == "/" or path.startswith("/static/")):
            name = "index.html" if path == "/" else path[len("/static/"):]
            if name not in STATIC_FILES:
                raise HTTPError(HTTPStatus.NOT_FOUND, f"no static file {name!r}")
            self._send(HTTPStatus.OK, (STATIC_DIR / name).read_bytes(), STATIC_FILES[name])
        elif method == "GET" and path == "/api/info":
            self._json(app.info())
        elif method == "GET" and path == "/api/history":
            self._json({"jobs": app.board.history()})
        elif method == "POST" and path == "/api/generate":
            prompt, params = generate_options(self._body())
            view = app.board.submit(prompt, **params)
            self._json({"job_id": view.job_id})
        elif (match := _JOB_ROUTE.match(path)) is not None:
            self._job_route(method, check_job_id(match.group(1)), match.group(2), match.group(3), query)
        else:
            raise HTTPError(HTTPStatus.NOT_FOUND, f"no route {method} {path}")

    def _job_route(self, method: str, job_id: str, action: str, semantic: str | None, query: dict) -> None:
        app = self.app
        if method == "POST" and action == "open":
            self._body()
            self._json({"job_id": app.board.open(job_id).job_id})
        elif method == "POST" and action == "cancel":
            self._body()
            self._json({"state": app.job(job_id).cancel(app.client)})
        elif method == "GET" and action == "events":
            self._events(app.job(job_id))
        elif method == "GET" and action == "result":
            self._json(app.finished_job(job_id).result_summary())
        elif method == "GET" and action == "files.zip":
            view = app.finished_job(job_id)
            name = view.result_summary()["zip_name"]
            self._send(HTTPStatus.OK, view.zip_bytes(), "application/zip",
                       {"Content-Disposition": f'attachment; filename="{name}"'})
        elif method == "GET" and action == "render.png":
            view = app.finished_job(job_id)
            try:
                latitude, longitude = parse_light(query.get("lat", ["45"])[0], query.get("lon", ["0"])[0])
            except ValueError as exc:
                raise HTTPError(HTTPStatus.BAD_REQUEST, str(exc)) from None
            self._send(HTTPStatus.OK, app.render(view, latitude, longitude), "image/png", IMMUTABLE)
        elif method == "GET" and semantic is not None:
            view = app.finished_job(job_id)
            if semantic not in MAP_LABELS or semantic not in view.material.texture_set:
                raise HTTPError(HTTPStatus.NOT_FOUND, f"job {job_id} has no {semantic!r} map")
            self._send(HTTPStatus.OK, view.map_image(semantic, map_png), "image/png", IMMUTABLE)
        else:
            raise HTTPError(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} is not allowed on {action}")

    def _events(self, view: JobView) -> None:
        """Server-Sent Events: every event of the job from Last-Event-ID + 1 on; ends after the last."""
        try:
            index = int(self.headers.get("Last-Event-ID", "-1")) + 1
        except ValueError:
            index = 0
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        while True:
            events = view.events_from(index, SSE_KEEPALIVE_S)
            if not events:
                self.wfile.write(b": keep-alive\n\n")
            for number, kind, payload in events:
                self.wfile.write(f"id: {number}\nevent: {kind}\ndata: {json.dumps(payload)}\n\n".encode("utf-8"))
                index = number + 1
            self.wfile.flush()
            if events and events[-1][1] in ("done", "failed"):
                return


def make_server(app: DemoApp, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server for `app` on host:port (port 0 = any free port; see server_address)."""
    handler = type("BoundDemoHandler", (DemoHandler,), {"app": app})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
