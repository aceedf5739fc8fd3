"""`intrinsix-client`: generate texture sets on a remote IntrinsiX server from the shell.

    intrinsix-client generate "polished walnut parquet" --server gpu-box:50051 --out textures/walnut
    intrinsix-client jobs --server gpu-box:50051
    intrinsix-client fetch 0f3c... --out textures/again
    intrinsix-client cancel 0f3c...

Token: --token-file FILE or $INTRINSIX_TOKEN. Exit status: 0 done, 1 the job failed or was
cancelled, 2 bad usage or local file problem, 3 the server refused the call (status and message
printed), 4 the result could not be delivered intact.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import grpc

from ._protocol import FORMATS, PROFILES, job_pb2, profile_name, state_name
from .client import Client
from .connection import TlsOptions
from .errors import JobFailed, ResultError, StreamLost


class ProgressBar:
    """One status line on a terminal (a line per change otherwise): generation %, then download."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._last = ""

    def _show(self, text: str) -> None:
        if text == self._last:
            return
        self._last = text
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def event(self, event: job_pb2.JobEvent) -> None:
        kind = event.WhichOneof("event")
        if kind == "accepted":
            a = event.accepted
            where = f", {a.queue_position} ahead in the queue" if a.queue_position else ""
            self._show(f"job {event.job_id} accepted (seed {a.seed}{where})")
        elif kind == "progress":
            p = event.progress
            filled = int(p.overall * self.width)
            steps = f" {p.step}/{p.total}" if p.total else ""
            queue = f" ({p.queue_position} ahead)" if p.stage == "queued" else ""
            self._show(f"[{'#' * filled}{'.' * (self.width - filled)}] {p.overall:4.0%} {p.stage}{steps}{queue}")
        elif kind == "texture_header":
            h = event.texture_header
            self._show(f"downloading {h.name} ({h.file_index + 1}/{h.file_count}, {h.byte_size / 1e6:.2f} MB)")

    def close(self) -> None:
        if self.tty and self._last:
            self.stream.write("\n")
            self.stream.flush()


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=os.environ.get("INTRINSIX_SERVER", "localhost:50051"),
                        help="host:port of the server (default $INTRINSIX_SERVER or %(default)s)")
    parser.add_argument("--token-file", help="file holding the bearer token (default: $INTRINSIX_TOKEN)")
    parser.add_argument("--tls", action="store_true", help="connect with TLS (system root certificates)")
    parser.add_argument("--ca-cert", help="PEM CA certificate to trust (implies --tls)")
    parser.add_argument("--server-name", help="name to check in the server certificate (implies --tls)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="intrinsix-client", description="Client of an IntrinsiX texture server.")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="generate a texture set and write its files")
    _common(gen)
    gen.add_argument("prompt", nargs="+", help="the prompt, or 3 prompts (albedo, material, normal)")
    gen.add_argument("--out", required=True, help="folder to write the files into")
    gen.add_argument("--profile", default="unreal", choices=PROFILES)
    gen.add_argument("--size", type=int, help="width and height in pixels (default: the model's)")
    gen.add_argument("--width", type=int)
    gen.add_argument("--height", type=int)
    gen.add_argument("--steps", type=int)
    gen.add_argument("--seed", type=int)
    gen.add_argument("--guidance", type=float)
    gen.add_argument("--negative-prompt")
    gen.add_argument("--true-cfg", type=float, help="true classifier-free guidance scale (> 1, with --negative-prompt)")
    gen.add_argument("--tileable", action="store_true", help="seamlessly tiling maps")
    gen.add_argument("--material-name", help="letters, digits and '_' (default: from the prompt)")
    gen.add_argument("--format", action="append", default=[], choices=FORMATS, dest="formats",
                     help="preferred encoding, repeatable in order (png16: 16-bit normal maps; gltf: .gltf + PNGs)")
    gen.add_argument("--overwrite", action="store_true", help="replace existing files with different content")
    gen.add_argument("--timeout", type=float, help="give up (and stop the job) after this many seconds")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")

    fetch = sub.add_parser("fetch", help="download the files of a finished job")
    _common(fetch)
    fetch.add_argument("job_id")
    fetch.add_argument("--out", required=True)
    fetch.add_argument("--overwrite", action="store_true")

    jobs = sub.add_parser("jobs", help="list this token's jobs")
    _common(jobs)
    jobs.add_argument("--state", action="append", default=[], type=str.upper,
                      choices=[n[len("JOB_STATE_"):] for n in job_pb2.JobState.keys()[1:]])
    jobs.add_argument("--limit", type=int, default=50)

    cancel = sub.add_parser("cancel", help="cancel a queued or running job")
    _common(cancel)
    cancel.add_argument("job_id")

    info = sub.add_parser("info", help="server version, readiness, limits and models")
    _common(info)
    return parser


def _client(args: argparse.Namespace) -> Client:
    token = None
    if args.token_file:
        token = Path(args.token_file).read_text(encoding="utf-8").strip()
    tls = None
    if args.tls or args.ca_cert or args.server_name:
        tls = TlsOptions(ca_cert=args.ca_cert, server_name=args.server_name)
    return Client(args.server, token=token, tls=tls)


def _generate(client: Client, args: argparse.Namespace) -> int:
    prompts = args.prompt
    if len(prompts) not in (1, 3):
        raise ValueError(f"give 1 prompt or 3 (albedo, material, normal), got {len(prompts)}")
    bar = None if args.quiet else ProgressBar()
    try:
        result = client.generate(
            prompts[0] if len(prompts) == 1 else prompts, args.out, profile=args.profile, size=args.size,
            width=args.width, height=args.height, steps=args.steps, seed=args.seed, guidance=args.guidance,
            negative_prompt=args.negative_prompt, true_cfg_scale=args.true_cfg, tileable=args.tileable,
            material_name=args.material_name, formats=args.formats, overwrite=args.overwrite, timeout=args.timeout,
            on_event=None if bar is None else bar.event)
    finally:
        if bar is not None:
            bar.close()
    _print_result(result)
    return 0


def _print_result(result) -> None:
    print(f"job {result.job_id}: {result.material_name} ({result.profile}), {len(result.files)} files, "
          f"{result.total_bytes / 1e6:.2f} MB in {result.out_dir}")
    for f in result.files:
        size = f" {f.width}x{f.height}" if f.width else ""
        print(f"  {f.name:40s} {f.semantic:20s} {f.format:9s}{size}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with _client(args) as client:
            if args.command == "generate":
                return _generate(client, args)
            if args.command == "fetch":
                _print_result(client.download(args.job_id, args.out, overwrite=args.overwrite))
            elif args.command == "jobs":
                states = [job_pb2.JobState.Value("JOB_STATE_" + s) for s in args.state]
                for job in client.jobs(states=states, limit=args.limit):
                    prompt = job.generate.prompt or " | ".join(job.generate.branch_prompts) or job.room.prompt
                    print(f"{job.job_id}  {state_name(job.state):11s} {job.progress:4.0%}  {prompt[:60]}")
            elif args.command == "cancel":
                response = client.cancel(args.job_id)
                print(f"{args.job_id}: {state_name(response.state)}"
                      f"{' (cancel requested)' if response.cancelled else ' (already finished)'}")
            elif args.command == "info":
                info = client.server_info()
                print(f"server {info.server_version} ({info.api_version}), ready: {info.ready}, "
                      f"auth: {info.auth_required}, devices: {', '.join(info.devices)}")
                print(f"queue: {info.queued} queued, {info.running} running, capacity {info.queue_capacity}; "
                      f"profiles: {', '.join(profile_name(p) for p in info.profiles)}")
                lim = info.limits
                print(f"limits: size {lim.min_size}..{lim.max_size} (x{lim.size_multiple}), steps "
                      f"{lim.min_steps}..{lim.max_steps}, prompt <= {lim.max_prompt_chars} chars")
                for model in client.models():
                    print(f"model {model.name}: {model.description}")
            return 0
    except JobFailed as exc:
        print(f"intrinsix-client: {exc}", file=sys.stderr)
        return 1
    except grpc.RpcError as exc:
        print(f"intrinsix-client: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 3
    except (ResultError, StreamLost) as exc:
        print(f"intrinsix-client: {exc}", file=sys.stderr)
        return 4
    except (ValueError, OSError) as exc:
        print(f"intrinsix-client: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
