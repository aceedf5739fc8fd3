"""`intrinsix demo-ui`: the browser demo, a client of a running IntrinsiX server.

    intrinsix serve --tiny-random-model 0 --devices cpu &          # or any real server
    intrinsix demo-ui --server localhost:50051 --port 7860          # then open http://127.0.0.1:7860/

Registered by cli/main.py through `register(subparsers)`. Needs the Python SDK (`intrinsix_client`,
`pip install ./clients/python`): the page shows exactly what an SDK client (and so an engine) gets.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

DEFAULT_PORT = 7860


def register(subparsers) -> argparse.ArgumentParser:
    """Add the `demo-ui` subcommand to the `intrinsix` command line."""
    parser = subparsers.add_parser(
        "demo-ui", help="browser demo: generate, inspect and relight texture sets from a running server",
        description="Serve a web page that generates texture sets on an IntrinsiX server (through the Python "
                    "SDK), shows progress, previews, every map, a relit render with light sliders, a 3D "
                    "preview, the engine-profile files as a zip and this token's job history. See docs/demo-ui.md.")
    parser.add_argument("--server", default=os.environ.get("INTRINSIX_SERVER", "localhost:50051"),
                        help="host:port of the IntrinsiX server (default $INTRINSIX_SERVER or %(default)s)")
    parser.add_argument("--token-file", help="file holding the bearer token (first non-comment line; "
                                             "default: $INTRINSIX_TOKEN)")
    parser.add_argument("--tls", action="store_true", help="connect to the server with TLS (system roots)")
    parser.add_argument("--ca-cert", help="PEM CA certificate to trust for the server (implies --tls)")
    parser.add_argument("--server-name", help="name to check in the server certificate (implies --tls)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address the page listens on (default %(default)s: this machine only; anyone who "
                             "reaches the page acts with the token)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="port of the page (default %(default)s; 0 = any free port)")
    parser.add_argument("--port-file", help="write the bound port to this file once listening")
    parser.add_argument("--work-dir", help="folder for the delivered files (default: a temporary folder, "
                                           "removed on exit)")
    parser.set_defaults(func=run)
    return parser


def read_token(path: str) -> str:
    """The first line of `path` that is neither blank nor a '#' comment."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"--token-file {path!r} cannot be read: {exc.strerror}") from None
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()
    raise ValueError(f"--token-file {path!r} holds no token (only blank or '#' lines)")


def _client(args: argparse.Namespace):
    try:
        from intrinsix_client import Client, TlsOptions
    except ImportError as exc:
        raise ValueError(f"the demo needs the Python SDK: pip install ./clients/python ({exc})") from None
    token = read_token(args.token_file) if args.token_file else None
    tls = TlsOptions(ca_cert=args.ca_cert, server_name=args.server_name) \
        if (args.tls or args.ca_cert or args.server_name) else None
    return Client(args.server, token=token, tls=tls)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        print(f"intrinsix demo-ui: error: --port must be in 0..65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        client = _client(args)
    except ValueError as exc:
        print(f"intrinsix demo-ui: error: {exc}", file=sys.stderr)
        return 2
    from .jobs import JobBoard
    from .web import DemoApp, make_server

    work_dir = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="intrinsix-demo-ui-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    try:
        httpd = make_server(DemoApp(JobBoard(client, work_dir), args.server, args.host), args.host, args.port)
    except OSError as exc:
        print(f"intrinsix demo-ui: error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    port = httpd.server_address[1]
    if args.port_file:
        temporary = Path(args.port_file).with_suffix(".tmp")
        temporary.write_text(f"{port}\n")
        os.replace(temporary, args.port_file)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"intrinsix demo-ui: http://{host}:{port}/ (server {args.server})", flush=True)

    def stop(signum, frame) -> None:
        threading.Thread(target=httpd.shutdown, daemon=True).start()  # shutdown() blocks until serve_forever ends

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        httpd.server_close()
        client.close()
        if not args.work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    return 0
