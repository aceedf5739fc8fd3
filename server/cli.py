"""`intrinsix serve`: run the gRPC texture server until SIGINT/SIGTERM, then stop gracefully.

    intrinsix serve --model-dir /models/FLUX.1-dev --lora /models/IntrinsiX/pytorch_lora_weights.safetensors \
        --address 0.0.0.0:50051 --devices auto --token-file tokens.txt --tls-cert cert.pem --tls-key key.pem

Registered by cli/main.py through `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import sys
from pathlib import Path

from .config import MIB, Limits, ServerConfig, TlsConfig

DEFAULT_DATA_DIR = Path(os.environ.get("INTRINSIX_DATA_DIR", Path.home() / ".local" / "share" / "intrinsix" / "server"))
log = logging.getLogger("intrinsix.server")


def register(subparsers) -> argparse.ArgumentParser:
    """Add the `serve` subcommand to the `intrinsix` command line."""
    parser = subparsers.add_parser(
        "serve", help="run the gRPC texture server",
        description="Serve text -> PBR texture sets over gRPC (intrinsix.v1.TextureService, grpc.health.v1, "
                    "reflection). Stops gracefully on SIGINT/SIGTERM. See docs/server.md.")
    model = parser.add_argument_group("model (choose one; default: the bundled demo model)")
    model.add_argument("--model-dir", help="FLUX.1 diffusers folder (with --lora) or a saved IntrinsiX pipeline folder")
    model.add_argument("--lora", help="IntrinsiX LoRA file (pytorch_lora_weights.safetensors) for --model-dir")
    model.add_argument("--tiny-random-model", type=int, metavar="SEED", default=None,
                       help="the tiny random architecture (smoke tests; its maps are noise)")
    model.add_argument("--backend", metavar="MODULE:CALLABLE",
                       help="a custom TextureBackend factory called as CALLABLE(device, **options)")
    model.add_argument("--backend-option", action="append", default=[], metavar="KEY=VALUE",
                       help="option passed to the --backend factory (repeatable)")
    model.add_argument("--dtype", default="auto", choices=("auto", "bfloat16", "float16", "float32"),
                       help="weights dtype (auto: bfloat16 on CUDA, float32 on CPU)")
    model.add_argument("--lora-mode", default="batched", choices=("batched", "merged"),
                       help="batched: least memory; merged: fastest (+~11 GB for FLUX.1-dev)")

    net = parser.add_argument_group("network and security")
    net.add_argument("--address", default="127.0.0.1:50051",
                     help="host:port to listen on (default %(default)s; 0.0.0.0:50051 for all interfaces; port 0 = any)")
    net.add_argument("--port-file", help="write the bound port to this file once listening")
    net.add_argument("--token-file", help="file of accepted bearer tokens, one per line; also read: "
                                          "$INTRINSIX_TOKENS (comma-separated). No tokens = no authentication")
    net.add_argument("--tls-cert", help="PEM certificate chain (enables TLS, needs --tls-key)")
    net.add_argument("--tls-key", help="PEM private key")
    net.add_argument("--tls-client-ca", help="PEM CA bundle: require client certificates signed by it (mTLS)")

    jobs = parser.add_argument_group("jobs")
    jobs.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR),
                      help="job table and results (default %(default)s; $INTRINSIX_DATA_DIR)")
    jobs.add_argument("--devices", default="auto",
                      help="comma-separated devices, one worker each (cuda:0,cuda:1 or cpu); auto = every CUDA device, else cpu; "
                           "all = every CUDA device")
    jobs.add_argument("--queue-size", type=int, default=64, help="queued jobs before RESOURCE_EXHAUSTED (%(default)s)")
    jobs.add_argument("--retention-hours", type=float, default=168.0,
                      help="keep finished jobs and their files this long (%(default)s h)")
    jobs.add_argument("--chunk-kib", type=int, default=1024, help="texture chunk size in KiB, 1..1024 (%(default)s)")
    jobs.add_argument("--shutdown-grace", type=float, default=30.0,
                      help="seconds running jobs get to finish on shutdown before they are interrupted (%(default)s)")

    limits = parser.add_argument_group("input limits")
    defaults = Limits()
    limits.add_argument("--max-prompt-chars", type=int, default=defaults.max_prompt_chars)
    limits.add_argument("--max-size", type=int, default=defaults.max_size, help="largest width/height in pixels")
    limits.add_argument("--max-steps", type=int, default=defaults.max_steps)
    limits.add_argument("--max-mesh-mib", type=int, default=defaults.max_mesh_bytes // MIB)
    limits.add_argument("--max-vertices", type=int, default=defaults.max_vertices)
    limits.add_argument("--max-triangles", type=int, default=defaults.max_triangles)

    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    parser.set_defaults(func=run)
    return parser


def resolve_devices(spec: str, cuda_count: int | None = None) -> tuple[str, ...]:
    """Worker devices for `--devices`, one worker each.

    "auto": every CUDA device, or ("cpu",) without one; "all": every CUDA device (an error without
    one); otherwise a comma-separated list of "cpu", "cpu:N" (several CPU workers), "cuda" or
    "cuda:N" with N below the number of visible CUDA devices, no duplicates.
    `cuda_count` defaults to torch.cuda.device_count().
    """
    if cuda_count is None:
        import torch

        cuda_count = torch.cuda.device_count()
    spec = spec.strip()
    if spec in ("auto", "all"):
        if cuda_count:
            return tuple(f"cuda:{i}" for i in range(cuda_count))
        if spec == "all":
            raise ValueError("--devices all: no CUDA device is visible (use --devices cpu or auto)")
        return ("cpu",)
    devices = []
    for item in (d.strip() for d in spec.split(",")):
        kind, _, index = item.partition(":")
        if kind not in ("cpu", "cuda") or (index and not index.isdigit()):
            raise ValueError(f"--devices: {item!r} is not a device; use auto, all, or a list like cuda:0,cuda:1 or cpu")
        if kind == "cuda":
            number = int(index or 0)
            if number >= cuda_count:
                raise ValueError(f"--devices: {item} does not exist; {cuda_count} CUDA device(s) are visible "
                                 f"(cuda:0..cuda:{cuda_count - 1})" if cuda_count else
                                 f"--devices: {item} asked for CUDA but no CUDA device is visible")
            item = f"cuda:{number}"
        if item in devices:
            raise ValueError(f"--devices: {item} is listed twice; each device runs one worker")
        devices.append(item)
    return tuple(devices)


def _backend_factory(args: argparse.Namespace):
    chosen = [flag for flag, value in (("--model-dir", args.model_dir), ("--tiny-random-model", args.tiny_random_model),
                                       ("--backend", args.backend)) if value is not None]
    if len(chosen) > 1:
        raise ValueError("choose one model: --model-dir DIR (a FLUX.1 folder with --lora FILE, or a saved IntrinsiX "
                         f"pipeline), --tiny-random-model SEED, or --backend MODULE:CALLABLE (got {chosen}); "
                         "with none, the bundled demo model is served")
    if not chosen:  # the bundled demo model (docs/demo-model.md)
        from intrinsix.cli.generate import default_model_dir

        args.model_dir = str(default_model_dir())
        if not Path(args.model_dir).is_dir():
            raise ValueError(f"no model given and the bundled demo model is missing at {args.model_dir}: pass "
                             "--model-dir DIR")
    if args.backend is not None:
        module_name, _, attribute = args.backend.partition(":")
        if not module_name or not attribute:
            raise ValueError(f"--backend must have the form MODULE:CALLABLE, got {args.backend!r}")
        factory = getattr(importlib.import_module(module_name), attribute)
        options = {}
        for item in args.backend_option:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ValueError(f"--backend-option must have the form KEY=VALUE, got {item!r}")
            options[key] = value
        return lambda device: factory(device, **options)
    from .intrinsix_backend import IntrinsiXBackend

    return lambda device: IntrinsiXBackend(device, model_dir=args.model_dir, lora_path=args.lora, dtype=args.dtype,
                                           tiny_random_seed=args.tiny_random_model, lora_mode=args.lora_mode)


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    from .auth import load_tokens

    if bool(args.tls_cert) != bool(args.tls_key):
        raise ValueError("TLS needs both --tls-cert and --tls-key")
    if args.tls_client_ca and not args.tls_cert:
        raise ValueError("--tls-client-ca needs --tls-cert and --tls-key")
    tls = TlsConfig(Path(args.tls_cert), Path(args.tls_key), Path(args.tls_client_ca) if args.tls_client_ca else None) \
        if args.tls_cert else None
    if not 1 <= args.chunk_kib <= 1024:
        raise ValueError(f"--chunk-kib must be in 1..1024, got {args.chunk_kib}")
    limits = Limits(max_prompt_chars=args.max_prompt_chars, max_size=args.max_size, max_steps=args.max_steps,
                    max_mesh_bytes=args.max_mesh_mib * MIB, max_vertices=args.max_vertices,
                    max_triangles=args.max_triangles)
    return ServerConfig(
        data_dir=Path(args.data_dir), address=args.address, devices=resolve_devices(args.devices), queue_size=args.queue_size,
        retention_s=args.retention_hours * 3600.0, chunk_size=args.chunk_kib * 1024, limits=limits,
        tokens=load_tokens(args.token_file), tls=tls, shutdown_grace_s=args.shutdown_grace)


async def _serve(config: ServerConfig, factory, port_file: str | None) -> int:
    from .app import IntrinsiXServer

    server = IntrinsiXServer(config, factory)
    port = await server.start()
    if port_file:
        temporary = Path(port_file).with_suffix(".tmp")
        temporary.write_text(f"{port}\n")
        os.replace(temporary, port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("second %s: exiting without waiting for jobs", signal.Signals(signum).name)
            os._exit(128 + signum)
        log.info("%s: shutting down (running jobs get %.0f s)", signal.Signals(signum).name, config.shutdown_grace_s)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    await stop.wait()
    await server.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_args(args)
        factory = _backend_factory(args)
    except (ValueError, ImportError, AttributeError) as exc:
        print(f"intrinsix serve: error: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(config, factory, args.port_file))
    except (OSError, ValueError) as exc:
        print(f"intrinsix serve: error: {exc}", file=sys.stderr)
        return 1
