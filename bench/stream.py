"""Result streaming throughput: a 4-map RAW texture set (float32 EXR) over loopback, through the
IntrinsiX server vs a bare grpcio server that streams the same bytes.

    python bench/stream.py                 # 2048^2 maps (about 128 MB), 5 runs, median
    python bench/stream.py --size 1024 --runs 3

Layout, the same for both: the server is its own process on 127.0.0.1 (grpc.aio, one chunk per
message, 1 MiB chunks), the client is this process and receives with the blocking grpcio API.
  bare     generic grpc.aio handler yielding the concatenated bytes from memory as raw messages
           (no protobuf, no disk, no job machinery): the transport's ceiling
  ours     WatchJob(result_only) of a finished job: files read from the job store, wrapped in
           JobEvent / TextureChunk messages with offsets (what a re-attaching client gets)
  ours e2e Generate of a new job with a backend that returns the files at once: queue, durable
           store (fsync) and streaming
  SDK      intrinsix_client download: ours + SHA-256 verification + files written to disk
Target: ours >= 0.8 x bare.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHANNELS = {"albedo": 3, "roughness": 1, "metallic": 1, "normal": 3}
MAX_MESSAGE = 8 << 20


# ---- the texture set ------------------------------------------------------------------------------
def make_files(folder: Path, size: int, seed: int = 0) -> None:
    """Write the four float32 EXR maps (noise: close to incompressible, the worst case)."""
    import numpy as np

    from intrinsix.pbr.exr import encode_exr

    rng = np.random.default_rng(seed)
    names = ("R", "G", "B")
    for semantic, channels in CHANNELS.items():
        planes = {("Y" if channels == 1 else names[c]): rng.random((size, size), dtype=np.float32)
                  for c in range(channels)}
        (folder / f"Bench_{semantic}.exr").write_bytes(encode_exr(planes, "float"))


def load_result(folder: Path, size: int):
    """The files as an ExportResult (what a backend hands to the server)."""
    import json

    from intrinsix.pbr.files import ExportedFile, ExportResult

    files = []
    for semantic, channels in CHANNELS.items():
        name = f"Bench_{semantic}.exr"
        files.append(ExportedFile(name=name, semantic="base_color" if semantic == "albedo" else semantic,
                                  color_space="linear", format="exr_float", width=size, height=size,
                                  channels=channels, data=(folder / name).read_bytes(),
                                  normal_convention="opengl" if semantic == "normal" else None))
    manifest = {"material": "Bench", "profile": "raw", "files": [f.describe() for f in files]}
    files.append(ExportedFile(name="material.json", semantic="manifest", color_space="none", format="json",
                              width=0, height=0, channels=0, data=json.dumps(manifest).encode()))
    return ExportResult(profile="raw", material_name="Bench", files=tuple(files), manifest=manifest)


class BenchBackend:
    """TextureBackend that returns the prepared files at once (no model)."""

    def __init__(self, device: str, files: str, size: str):
        self.result = load_result(Path(files), int(size))

    def load(self) -> None:
        pass

    def describe(self):
        from intrinsix.server import ModelDescription

        return ModelDescription("bench", "returns prepared files", 1, 0.0, 64, 64, False, False)

    def progress_stages(self, kind):
        return (("exporting", 1.0),)

    def generate(self, params, on_progress, on_preview, is_cancelled):
        on_progress("exporting", 1, 1)
        return self.result

    def texture_room(self, *args):
        raise RuntimeError("the stream benchmark's backend serves Generate only")


# ---- servers (each in its own process) --------------------------------------------------------------
def serve_bare(files: Path, port_file: Path, chunk: int) -> None:
    import grpc

    blob = b"".join((files / f"Bench_{s}.exr").read_bytes() for s in CHANNELS)

    async def stream(request, context):
        view = memoryview(blob)
        for offset in range(0, len(blob), chunk):
            yield bytes(view[offset:offset + chunk])

    async def main() -> None:
        server = grpc.aio.server(options=[("grpc.max_send_message_length", MAX_MESSAGE)])
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
            "bench.Bare", {"Stream": grpc.unary_stream_rpc_method_handler(stream)})])
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        port_file.write_text(str(port))
        await server.wait_for_termination()

    asyncio.run(main())


def serve_ours(files: Path, port_file: Path, chunk: int, size: int, data_dir: Path) -> None:
    from intrinsix.server import IntrinsiXServer, ServerConfig

    async def main() -> None:
        config = ServerConfig(data_dir=data_dir, address="127.0.0.1:0", devices=("cpu",), chunk_size=chunk)
        server = IntrinsiXServer(config, lambda device: BenchBackend(device, str(files), str(size)))
        port = await server.start()
        await server.wait_ready(60)
        port_file.write_text(str(port))
        await server.wait_for_termination()

    asyncio.run(main())


def _spawn(kind: str, files: Path, work: Path, chunk: int, size: int) -> tuple[subprocess.Popen, str]:
    port_file = work / f"{kind}.port"
    process = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--files", str(files), "--port-file",
                                str(port_file), "--chunk", str(chunk), "--size", str(size), "--data-dir",
                                str(work / "data")])
    end = time.monotonic() + 120
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > end:
            raise RuntimeError(f"the {kind} server did not start")
        time.sleep(0.05)
    time.sleep(0.05)
    return process, f"127.0.0.1:{port_file.read_text().strip()}"


# ---- client measurements ----------------------------------------------------------------------------
def measure(args) -> None:
    import grpc

    from intrinsix.server.protocol import job_pb2, service_pb2, service_pb2_grpc, texture_pb2

    options = [("grpc.max_receive_message_length", MAX_MESSAGE)]
    with tempfile.TemporaryDirectory(prefix="intrinsix-bench-") as tmp:
        work = Path(tmp)
        files = work / "files"
        files.mkdir()
        started = time.perf_counter()
        make_files(files, args.size)
        total = sum((files / f"Bench_{s}.exr").stat().st_size for s in CHANNELS)
        print(f"texture set: 4 float32 EXR maps of {args.size}^2, {total / 1e6:.1f} MB "
              f"(made in {time.perf_counter() - started:.1f} s)")
        bare, bare_address = _spawn("bare", files, work, args.chunk, args.size)
        ours, ours_address = _spawn("ours", files, work, args.chunk, args.size)
        try:
            times: dict[str, list[float]] = {"bare": [], "ours": [], "ours e2e": [], "SDK": []}
            with grpc.insecure_channel(bare_address, options) as bare_channel, \
                    grpc.insecure_channel(ours_address, options) as ours_channel:
                call = bare_channel.unary_stream("/bench.Bare/Stream")
                stub = service_pb2_grpc.TextureServiceStub(ours_channel)
                params = job_pb2.GenerateParams(prompt="bench", profile=texture_pb2.EXPORT_PROFILE_RAW)
                job_id = None
                for run in range(args.runs + 1):  # run 0 warms up both servers
                    t0 = time.perf_counter()
                    received = sum(len(message) for message in call(b"", timeout=600))
                    t_bare = time.perf_counter() - t0
                    assert received == total, (received, total)

                    t0 = time.perf_counter()
                    got = 0
                    for event in stub.Generate(service_pb2.GenerateRequest(params=params), timeout=600):
                        job_id = event.job_id
                        got += len(event.texture_chunk.data)
                    t_e2e = time.perf_counter() - t0
                    assert got >= total

                    t0 = time.perf_counter()
                    got = 0
                    for event in stub.WatchJob(service_pb2.WatchJobRequest(job_id=job_id, result_only=True),
                                               timeout=600):
                        got += len(event.texture_chunk.data)
                    t_ours = time.perf_counter() - t0

                    t_sdk = _sdk_download(ours_address, job_id, work / f"sdk{run}")
                    if run:
                        for name, seconds in (("bare", t_bare), ("ours", t_ours), ("ours e2e", t_e2e), ("SDK", t_sdk)):
                            times[name].append(seconds)
        finally:
            for process in (bare, ours):
                process.terminate()
                process.wait(30)

    mbps = {name: total / statistics.median(values) / 1e6 for name, values in times.items()}
    rows = [("WatchJob delivery (result only)", mbps["ours"]), ("Generate end to end (store + stream)", mbps["ours e2e"]),
            ("SDK download (sha256 + disk)", mbps["SDK"])]
    print(f"\nmedian of {args.runs} runs, {args.chunk >> 10} KiB chunks, loopback, MB/s (1e6 bytes/s)")
    print(f"{'workload':40s} {'ours':>9s} {'bare grpcio':>12s} {'ratio':>7s}")
    for label, value in rows:
        print(f"{label:40s} {value:9.0f} {mbps['bare']:12.0f} {value / mbps['bare']:7.2f}")
    print(f"\ntarget: WatchJob delivery >= 0.80 x bare; reproduce: python bench/stream.py --size {args.size} "
          f"--runs {args.runs}")


def _sdk_download(address: str, job_id: str, out: Path) -> float:
    try:
        from intrinsix_client import Client
    except ImportError:
        return float("nan")
    with Client(address) as client:
        t0 = time.perf_counter()
        client.download(job_id, out)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2048, help="map width and height in pixels")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=1 << 20, help="chunk size in bytes (<= 1 MiB)")
    parser.add_argument("--serve", choices=("bare", "ours"), help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--port-file", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "bare":
        serve_bare(Path(args.files), Path(args.port_file), args.chunk)
    elif args.serve == "ours":
        serve_ours(Path(args.files), Path(args.port_file), args.chunk, args.size, Path(args.data_dir))
    else:
        measure(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
