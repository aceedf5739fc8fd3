"""A deterministic stand-in for the model, for server and client tests.

Every file's bytes are a function of (prompt, seed, size, profile, file name), so a test can
recompute what a job must deliver and catch results that are mixed up between jobs. It reports
progress per step, sends real PNG previews, honours is_cancelled() at every step, and can be held
at a step by a test (`gate`). Options are strings so that `intrinsix serve --backend` can pass them.
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
import threading
import time
import zlib

from intrinsix.pbr.files import ExportedFile, ExportResult
from intrinsix.server.backend import JobCancelled, ModelDescription

# profile -> [(file name pattern, semantic, color space, format, channels, normal convention, packing)]
PROFILE_FILES = {
    "unreal": [("T_{m}_BC.png", "base_color", "srgb", "png8", 3, None, None),
               ("T_{m}_N.png", "normal", "linear", "png8", 3, "directx", None),
               ("T_{m}_ORM.png", "orm", "linear", "png8", 3, None, "R=ambient_occlusion,G=roughness,B=metallic")],
    "godot": [("{m}_albedo.png", "base_color", "srgb", "png8", 3, None, None),
              ("{m}_normal.png", "normal", "linear", "png8", 3, "opengl", None),
              ("{m}_orm.png", "orm", "linear", "png8", 3, None, "R=ambient_occlusion,G=roughness,B=metallic")],
    "gltf": [("{m}_baseColor.png", "base_color", "srgb", "png8", 3, None, None),
             ("{m}_normal.png", "normal", "linear", "png8", 3, "opengl", None),
             ("{m}_metallicRoughness.png", "orm", "linear", "png8", 3, None, "G=roughness,B=metallic"),
             ("{m}.gltf", "model", "none", "gltf", 0, None, None)],
    "unity": [("{m}_BaseMap.png", "base_color", "srgb", "png8", 3, None, None),
              ("{m}_Normal.png", "normal", "linear", "png16", 3, "opengl", None),
              ("{m}_MetallicSmoothness.png", "metallic_smoothness", "linear", "png8", 4, None, "R=metallic,A=smoothness")],
    "raw": [("albedo.exr", "base_color", "linear", "exr_float", 3, None, None),
            ("roughness.exr", "roughness", "linear", "exr_float", 1, None, None),
            ("metallic.exr", "metallic", "linear", "exr_float", 1, None, None),
            ("normal.exr", "normal", "linear", "exr_float", 3, "opengl", None)],
}
BYTES_PER_CHANNEL = {"png8": 1, "png16": 2, "exr_half": 2, "exr_float": 4, "gltf": 0}


def tiny_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid 8-bit RGB PNG of one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def file_bytes(prompt, seed: int, width: int, height: int, profile: str, name: str, size: int) -> bytes:
    """The deterministic content of one fake result file."""
    key = hashlib.sha256(repr((prompt, seed, width, height, profile, name)).encode()).digest()
    head = f"FAKE {profile} {name} seed={seed} prompt={prompt!r}\n".encode()
    return head + random.Random(key).randbytes(max(size - len(head), 0))


def expected_files(prompt, seed: int, width: int, height: int, profile: str, material: str) -> dict[str, bytes]:
    """name -> bytes of every map the fake delivers for these parameters (manifest excluded)."""
    out = {}
    for pattern, _sem, _cs, fmt, channels, _nc, _pk in PROFILE_FILES[profile]:
        name = pattern.format(m=material)
        size = width * height * channels * BYTES_PER_CHANNEL[fmt] if channels else 512
        out[name] = file_bytes(prompt, seed, width, height, profile, name, size)
    return out


class FakeBackend:
    """TextureBackend for tests. Options: step_delay (seconds per step), load_delay (seconds),
    room ("1"/"0": room texturing supported), fail_load ("1": load() raises)."""

    def __init__(self, device: str, step_delay: float | str = 0.0, load_delay: float | str = 0.0,
                 room: bool | str = True, fail_load: bool | str = False):
        self.device = device
        self.step_delay = float(step_delay)
        self.load_delay = float(load_delay)
        self.room = room not in (False, "0", "false")
        self.fail_load = fail_load in (True, "1", "true")
        self.loaded = False
        self.gate = threading.Event()  # cleared = jobs with "hold" in the prompt wait at step 1
        self.gate.set()
        self.at_gate = threading.Event()  # set while a job waits at the gate
        self.calls: list = []  # params of every job run, in order

    def load(self) -> None:
        time.sleep(self.load_delay)
        if self.fail_load:
            raise RuntimeError("fake load failure")
        self.loaded = True

    def describe(self) -> ModelDescription:
        return ModelDescription(name="fake", description="deterministic test backend", default_steps=4,
                                default_guidance=3.5, default_width=64, default_height=64, supports_tiling=True,
                                supports_room_texturing=self.room)

    def progress_stages(self, kind: str):
        return (("denoising", 0.8), ("decoding", 0.1), ("exporting", 0.1))

    def _denoise(self, params, on_progress, on_preview, is_cancelled) -> None:
        prompt = params.prompt if isinstance(params.prompt, str) else " | ".join(params.prompt)
        for step in range(1, params.steps + 1):
            if "hold" in prompt and step == 1:
                self.at_gate.set()
                while not self.gate.wait(0.01):
                    if is_cancelled():
                        break
                self.at_gate.clear()
            if is_cancelled():
                raise JobCancelled()
            if "explode" in prompt:
                raise RuntimeError("the fake model exploded")
            time.sleep(self.step_delay)
            on_progress("denoising", step, params.steps)
            if params.preview_every and step % params.preview_every == 0:
                side = params.preview_size
                on_preview(step, params.steps, {"albedo": tiny_png(side, side, (200, 80, 40)),
                                                "material": tiny_png(side, side, (128, 0, 0)),
                                                "normal": tiny_png(side, side, (128, 128, 255))})
        on_progress("decoding", 1, 1)

    def _export(self, params, width: int, height: int, extra: dict) -> ExportResult:
        files = []
        for pattern, semantic, color_space, fmt, channels, normal, packing in PROFILE_FILES[params.profile]:
            name = pattern.format(m=params.material_name)
            size = width * height * channels * BYTES_PER_CHANNEL[fmt] if channels else 512
            files.append(ExportedFile(
                name=name, semantic=semantic, color_space=color_space, format=fmt,
                width=width if channels else 0, height=height if channels else 0, channels=channels,
                data=file_bytes(params.prompt, params.seed, width, height, params.profile, name, size),
                normal_convention=normal, packing=packing, tiling=getattr(params, "tileable", False)))
        manifest = {"material_name": params.material_name, "profile": params.profile, "seed": params.seed,
                    "prompt": params.prompt, "files": [f.describe() for f in files], **extra}
        files.append(ExportedFile(name="material.json", semantic="manifest", color_space="none", format="json",
                                  width=0, height=0, channels=0, data=json.dumps(manifest, indent=1).encode()))
        return ExportResult(profile=params.profile, material_name=params.material_name, files=tuple(files),
                            manifest=manifest)

    def generate(self, params, on_progress, on_preview, is_cancelled) -> ExportResult:
        self.calls.append(params)
        self._denoise(params, on_progress, on_preview, is_cancelled)
        on_progress("exporting", 1, 1)
        return self._export(params, params.width, params.height, {})

    def texture_room(self, params, mesh, on_progress, on_preview, is_cancelled) -> ExportResult:
        self.calls.append(params)
        self._denoise(params, on_progress, on_preview, is_cancelled)
        on_progress("exporting", 1, 1)
        digest = hashlib.sha256(mesh.positions.tobytes() + mesh.triangles.tobytes()
                                + (b"" if mesh.uvs is None else mesh.uvs.tobytes())).hexdigest()
        return self._export(params, params.texture_size, params.texture_size,
                            {"mesh_sha256": digest, "vertices": len(mesh.positions), "triangles": len(mesh.triangles)})
