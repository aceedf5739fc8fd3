"""The production backend: the IntrinsiX generator (`intrinsix.generator`) and the texture-set
export (`intrinsix.pbr`) behind the `TextureBackend` interface. Kept thin: the model and the
engine conventions live in those packages.

Model sources (one of):
  model_dir            a FLUX.1 diffusers folder (+ lora_path, the IntrinsiX LoRA file), or a saved
                       IntrinsiX pipeline folder (the demo model)
  tiny_random_seed     the tiny random architecture of `intrinsix.generator.tiny` (smoke tests:
                       runs anywhere in a second, produces noise-like maps)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .backend import (
    KIND_TEXTURE_ROOM,
    JobCancelled,
    ModelDescription,
    RoomTexturingUnavailable,
)

DTYPES = ("auto", "bfloat16", "float16", "float32")
STAGES = (("denoising", 0.85), ("decoding", 0.05), ("exporting", 0.10))


class IntrinsiXBackend:
    """TextureBackend running IntrinsiXPipeline on one device ("cpu", "cuda:0", ...)."""

    def __init__(self, device: str, model_dir: str | None = None, lora_path: str | None = None,
                 dtype: str = "auto", tiny_random_seed: int | str | None = None, lora_mode: str = "batched"):
        if (model_dir is None) == (tiny_random_seed is None):
            raise ValueError("give exactly one of model_dir (a model folder) and tiny_random_seed (the tiny random "
                             "test model)")
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        if model_dir is not None and not Path(model_dir).is_dir():
            raise ValueError(f"model_dir {str(model_dir)!r} is not a folder (expected a FLUX.1 diffusers folder or "
                             "a saved IntrinsiX pipeline)")
        self.device = device
        self.model_dir = None if model_dir is None else Path(model_dir)
        self.lora_path = lora_path
        self.dtype = dtype
        self.tiny_random_seed = None if tiny_random_seed is None else int(tiny_random_seed)
        self.lora_mode = lora_mode
        self.pipe = None

    def describe(self) -> ModelDescription:
        if self.model_dir is None:
            return ModelDescription(
                name="intrinsix-tiny-random", description=f"tiny random IntrinsiX architecture (seed "
                f"{self.tiny_random_seed}); for smoke tests, its maps are noise", default_steps=4,
                default_guidance=3.5, default_width=64, default_height=64, supports_tiling=True,
                supports_room_texturing=_room_texturing_available()[0])
        from intrinsix.generator.defaults import generation_defaults

        lora = f" + LoRA {Path(self.lora_path).name}" if self.lora_path else ""
        defaults = generation_defaults(self.model_dir)  # 512 / 28 / 3.5 for FLUX.1-dev, the demo model's own
        return ModelDescription(
            name=self.model_dir.name, description=f"IntrinsiX on {self.model_dir}{lora}",
            default_steps=defaults["num_inference_steps"], default_guidance=defaults["guidance_scale"],
            default_width=defaults["size"], default_height=defaults["size"], supports_tiling=True,
            supports_room_texturing=_room_texturing_available()[0],
            default_true_cfg_scale=defaults["true_cfg_scale"])

    def progress_stages(self, kind: str) -> Sequence[tuple[str, float]]:
        if kind == KIND_TEXTURE_ROOM:
            from intrinsix.texturing.server_job import ROOM_STAGES

            return ROOM_STAGES
        return STAGES

    def load(self) -> None:
        import torch

        from intrinsix.generator import load_pipeline, make_tiny_pipeline

        dtype = None if self.dtype == "auto" else getattr(torch, self.dtype)
        if self.model_dir is None:
            pipe = make_tiny_pipeline(self.tiny_random_seed).to(self.device)
            if dtype is not None:
                pipe = pipe.to(dtype=dtype)
        else:
            pipe = load_pipeline(self.model_dir, self.lora_path, device=self.device, dtype=dtype,
                                 lora_mode=self.lora_mode)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe

    def _previews(self, latents, size: int) -> dict[str, bytes]:
        """PNG previews of the current latents [3, 16, h, w]: longest side `size` pixels."""
        import torch
        import torch.nn.functional as F

        from intrinsix.pbr.colorspace import linear_to_srgb
        from intrinsix.pbr.png import encode_png8

        maps = self.pipe.decode_latents(latents)  # branch -> [1, H, W, 3] float32 CPU
        images = {"albedo": linear_to_srgb(maps["albedo"][0]), "material": maps["material"][0],
                  "normal": maps["normal"][0] * 0.5 + 0.5}
        out = {}
        for branch, image in images.items():
            height, width = image.shape[:2]
            scale = size / max(height, width)
            if scale < 1:
                target = (max(1, round(height * scale)), max(1, round(width * scale)))
                image = F.interpolate(image.permute(2, 0, 1)[None], size=target, mode="area")[0].permute(1, 2, 0)
            pixels = (image.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
            out[branch] = encode_png8(pixels)
        return out

    def generate(self, params, on_progress, on_preview, is_cancelled):
        import torch

        from intrinsix.generator.defaults import guidance_arguments
        from intrinsix.pbr import TextureSet, export

        if self.pipe is None:
            raise RuntimeError("IntrinsiXBackend.generate called before load()")
        steps = params.steps

        def on_step_end(pipe, step_index, timestep, callback_kwargs):
            if is_cancelled():
                raise JobCancelled()  # leaves the pipeline at once; nothing of the job is kept
            step = step_index + 1
            on_progress("denoising", step, steps)
            if params.preview_every and step % params.preview_every == 0:
                on_preview(step, steps, self._previews(callback_kwargs["latents"], params.preview_size))
            if step == steps:
                on_progress("decoding", 0, 1)
            return {}

        prompt = list(params.prompt) if isinstance(params.prompt, tuple) else params.prompt
        output = self.pipe(
            prompt=prompt, **guidance_arguments(params.true_cfg_scale, params.negative_prompt),
            height=params.height, width=params.width,
            num_inference_steps=steps, guidance_scale=params.guidance,
            generator=torch.Generator("cpu").manual_seed(params.seed), tileable=params.tileable,
            callback_on_step_end=on_step_end)
        on_progress("decoding", 1, 1)
        if is_cancelled():
            raise JobCancelled()
        texture_set = TextureSet.from_generator(output.albedo[0], output.material[0], output.normal[0],
                                                name=params.material_name, tiling=params.tileable)
        result = export(texture_set, params.profile, **export_options(params.formats), metadata={
            "prompt": params.prompt if isinstance(params.prompt, str) else " | ".join(params.prompt),
            "seed": params.seed, "steps": steps, "guidance": params.guidance,
            "true_cfg_scale": params.true_cfg_scale, "model": self.describe().name})
        on_progress("exporting", 1, 1)
        return result

    def texture_room(self, params, mesh, on_progress, on_preview, is_cancelled):
        available, reason = _room_texturing_available()
        if not available:
            raise RoomTexturingUnavailable(f"room texturing is not available: {reason}")
        if self.pipe is None:
            raise RuntimeError("IntrinsiXBackend.texture_room called before load()")
        from intrinsix.texturing.server_job import run_room_job

        description = self.describe()
        return run_room_job(self.pipe, params, mesh, on_progress, on_preview, is_cancelled,
                            resolution=description.default_width, export_options=export_options(params.formats),
                            model_name=description.name)


def _room_texturing_available() -> tuple[bool, str]:
    """(available, why not): the room texturer (intrinsix.texturing) and its dependencies."""
    try:
        from intrinsix.texturing.availability import room_texturing_available
    except ImportError as exc:
        return False, f"intrinsix.texturing cannot be imported ({exc})"
    return room_texturing_available()


def export_options(formats: Sequence[str]) -> dict:
    """pbr export options from a request's preferred encodings (job.proto, GenerateParams.formats):
    16-bit normal maps if "png16" comes before "png8"; a .gltf + PNG files if "gltf" comes before "glb"."""
    def prefers(first: str, second: str) -> bool:
        if first not in formats:
            return False
        return second not in formats or formats.index(first) < formats.index(second)

    return {"normal_bits": 16 if prefers("png16", "png8") else 8,
            "gltf_layout": "gltf" if prefers("gltf", "glb") else "glb"}
