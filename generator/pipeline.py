"""`IntrinsiXPipeline`: text -> albedo, material and normal maps in one batched denoising run.

diffusers pipeline shape (check_inputs, encode_prompt, prepare_latents, __call__ under no_grad,
callback_on_step_end, an output dataclass) on the FLUX.1 components: CLIP-L (pooled) and T5
(sequence) text encoders with their tokenizers, the 16-channel AutoencoderKL, FluxTransformer2DModel
(with per-branch LoRA and cross-intrinsic attention installed) and FlowMatchEulerDiscreteScheduler.

The three branches are the batch (row i -> branch i % 3, see branches.py): they share the prompt
embedding (or take one prompt each), the timestep and the image position ids; each has its own
initial noise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from .branches import BRANCHES, NUM_BRANCHES, branch_index
from .conditioning import (LINEAR, BranchCondition, PreparedCondition, broadcast_rows, image_to_vae_input,
                           mask_to_latent, vae_output_to_image)
from .latents import image_position_ids, text_position_ids, timestep_shift_mu
from .tiling import LatentRoller, vae_wraparound

MAX_T5_TOKENS = 512


@dataclass
class IntrinsiXOutput(BaseOutput):
    """Decoded intrinsic maps, float32 on the CPU, N = images per prompt.

    albedo:   [N, H, W, 3] linear albedo in [0, 1]
    material: [N, H, W, 3] in [0, 1]: R roughness, G metallic, B unused
    normal:   [N, H, W, 3] unit vectors, OpenGL camera space (+x right, +y up, +z toward the viewer),
              decoded as normalize(2 * img - 1)
    latents:  [N, 3, 16, H/8, W/8] final clean latents of the three branches (model space)
    (albedo/material/normal are None for output_type="latent")
    """

    albedo: torch.Tensor | None
    material: torch.Tensor | None
    normal: torch.Tensor | None
    latents: torch.Tensor | None = None


class IntrinsiXPipeline(DiffusionPipeline):
    """Text to PBR intrinsics (albedo, material, normal) with the IntrinsiX model.

    Text encoders and tokenizers may be None when `prompt_embeds` are always given (benchmarks,
    training with cached embeddings); the VAE may be None with output_type="latent".
    """

    model_cpu_offload_seq = "text_encoder->text_encoder_2->transformer->vae"
    _optional_components = ["text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2", "vae"]
    _callback_tensor_inputs = ["latents", "prompt_embeds"]

    def __init__(self, scheduler, vae, text_encoder, tokenizer, text_encoder_2, tokenizer_2, transformer):
        super().__init__()
        self.register_modules(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                              text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, transformer=transformer)
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1) if vae is not None else 8
        # How the VAE sees albedo and normal maps; load_pipeline sets the model folder's
        # (generator.defaults); LINEAR = REFERENCE §1, the real weights.
        self.vae_encoding = LINEAR
        self._interrupt = False

    # -- properties ---------------------------------------------------------------------------------

    @property
    def size_multiple(self) -> int:
        """Image height and width must be multiples of this (VAE factor x 2x2 packing = 16 for Flux)."""
        return self.vae_scale_factor * 2

    @property
    def default_max_sequence_length(self) -> int:
        if self.tokenizer_2 is None:
            return MAX_T5_TOKENS
        return int(min(MAX_T5_TOKENS, self.tokenizer_2.model_max_length))

    @property
    def interrupt(self) -> bool:
        return self._interrupt

    # -- prompts ------------------------------------------------------------------------------------

    def encode_prompt(
        self,
        prompt: str | Sequence[str],
        device: torch.device | None = None,
        max_sequence_length: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode one shared prompt or one prompt per branch.

        Returns prompt_embeds [P, L, D] (T5 last hidden state) and pooled_prompt_embeds [P, Dp]
        (CLIP pooled output), P = 1 for a shared prompt, 3 for a list of 3 (albedo, material, normal).
        """
        if self.text_encoder is None or self.text_encoder_2 is None or self.tokenizer is None or self.tokenizer_2 is None:
            raise ValueError("this pipeline has no text encoders: pass prompt_embeds and pooled_prompt_embeds")
        device = device or self._execution_device
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        length = max_sequence_length or self.default_max_sequence_length
        t5_ids = self.tokenizer_2(prompts, padding="max_length", max_length=length, truncation=True,
                                  return_tensors="pt").input_ids
        clip_ids = self.tokenizer(prompts, padding="max_length", max_length=self.tokenizer.model_max_length,
                                  truncation=True, return_tensors="pt").input_ids
        embeds = self.text_encoder_2(t5_ids.to(self.text_encoder_2.device), output_hidden_states=False)[0]
        pooled = self.text_encoder(clip_ids.to(self.text_encoder.device), output_hidden_states=False).pooler_output
        return embeds.to(device), pooled.to(device)

    # -- validation ---------------------------------------------------------------------------------

    def check_inputs(
        self,
        prompt,
        height: int,
        width: int,
        num_inference_steps: int,
        guidance_scale: float,
        num_images_per_prompt: int,
        prompt_embeds: torch.Tensor | None = None,
        pooled_prompt_embeds: torch.Tensor | None = None,
        negative_prompt=None,
        negative_prompt_embeds: torch.Tensor | None = None,
        negative_pooled_prompt_embeds: torch.Tensor | None = None,
        true_cfg_scale: float = 1.0,
        max_sequence_length: int | None = None,
        conditioning: Mapping | None = None,
        output_type: str = "pt",
        callback_on_step_end_tensor_inputs: Sequence[str] = ("latents",),
    ) -> None:
        """Raise ValueError/TypeError naming the argument, the bad value and what is allowed."""
        multiple = self.size_multiple
        for name, value in (("height", height), ("width", width)):
            if not isinstance(value, int) or value <= 0 or value % multiple:
                raise ValueError(f"{name} must be a positive multiple of {multiple} pixels, got {value!r}")
        if not isinstance(num_inference_steps, int) or num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be an integer >= 1, got {num_inference_steps!r}")
        if not isinstance(num_images_per_prompt, int) or num_images_per_prompt < 1:
            raise ValueError(f"num_images_per_prompt must be an integer >= 1, got {num_images_per_prompt!r}")
        if not np.isfinite(guidance_scale) or guidance_scale < 0:
            raise ValueError(f"guidance_scale must be a finite number >= 0, got {guidance_scale!r}")
        if not np.isfinite(true_cfg_scale) or true_cfg_scale < 1:
            raise ValueError(f"true_cfg_scale must be >= 1 (1 = off), got {true_cfg_scale!r}")
        self._check_prompt("prompt", prompt, prompt_embeds, pooled_prompt_embeds, required=True)
        if true_cfg_scale > 1:
            self._check_prompt("negative_prompt", negative_prompt, negative_prompt_embeds,
                               negative_pooled_prompt_embeds, required=True)
        if max_sequence_length is not None and not 1 <= max_sequence_length <= MAX_T5_TOKENS:
            raise ValueError(f"max_sequence_length must be in [1, {MAX_T5_TOKENS}], got {max_sequence_length}")
        if output_type not in ("pt", "latent"):
            raise ValueError(f"output_type must be 'pt' or 'latent', got {output_type!r}")
        if output_type != "latent" and self.vae is None:
            raise ValueError("this pipeline has no VAE: use output_type='latent'")
        bad = [k for k in callback_on_step_end_tensor_inputs if k not in self._callback_tensor_inputs]
        if bad:
            raise ValueError(f"callback_on_step_end_tensor_inputs {bad} not allowed; choose from {self._callback_tensor_inputs}")
        for key, condition in (conditioning or {}).items():
            branch_index(key)
            if not isinstance(condition, BranchCondition):
                raise TypeError(f"conditioning[{key!r}] must be a BranchCondition, got {type(condition).__name__}")
            if condition.image is not None and self.vae is None:
                raise ValueError(f"conditioning[{key!r}] gives an image but this pipeline has no VAE: give latents")
        if conditioning and len({branch_index(k) for k in conditioning}) == NUM_BRANCHES:
            raise ValueError("conditioning may hold at most 2 of the 3 branches (one must be generated)")

    def _check_prompt(self, name, prompt, embeds, pooled, required: bool) -> None:
        if prompt is not None and embeds is not None:
            raise ValueError(f"give either {name} or {name}_embeds, not both")
        if prompt is None and embeds is None:
            if required:
                raise ValueError(f"{name} (a string or a list of {NUM_BRANCHES}) or {name}_embeds is required")
            return
        if prompt is not None:
            ok = isinstance(prompt, str) or (isinstance(prompt, (list, tuple)) and len(prompt) == NUM_BRANCHES
                                             and all(isinstance(p, str) for p in prompt))
            if not ok:
                raise ValueError(f"{name} must be a string or a list of {NUM_BRANCHES} strings ({', '.join(BRANCHES)}), "
                                 f"got {prompt!r}")
            return
        if pooled is None:
            raise ValueError(f"{name}_embeds needs {name.replace('prompt', 'pooled_prompt')}_embeds "
                             "(the CLIP pooled output)")
        if embeds.dim() != 3 or embeds.shape[0] not in (1, NUM_BRANCHES):
            raise ValueError(f"{name}_embeds must have shape [1 or 3, L, D], got {tuple(embeds.shape)}")
        if pooled.dim() != 2 or pooled.shape[0] != embeds.shape[0]:
            raise ValueError(f"pooled embeddings for {name} must have shape [{embeds.shape[0]}, Dp], got {tuple(pooled.shape)}")

    # -- latents ------------------------------------------------------------------------------------

    def prepare_latents(
        self,
        groups: int,
        height: int,
        width: int,
        generator: torch.Generator | None,
        device: torch.device,
        latents: torch.Tensor | None = None,
    ) -> torch.Tensor:  # [3G, 16, h, w] float32
        """Initial noise, independent per branch (row i -> branch i % 3), float32 on `device`.
        Drawn on the generator's device, so a CPU generator gives the same noise on every device."""
        channels = self.transformer.config.in_channels // 4
        shape = (groups * NUM_BRANCHES, channels, height // self.vae_scale_factor, width // self.vae_scale_factor)
        if latents is not None:
            if tuple(latents.shape) != shape:
                raise ValueError(f"latents must have shape {list(shape)}, got {list(latents.shape)}")
            return latents.to(device=device, dtype=torch.float32)
        noise_device = generator.device if generator is not None else torch.device("cpu")
        noise = torch.randn(shape, generator=generator, device=noise_device, dtype=torch.float32)
        return noise.to(device)

    def encode_image(self, branch: str | int, image: torch.Tensor) -> torch.Tensor:
        """[N, H, W, 3] branch image (albedo/material [0, 1], normal unit vectors) -> [N, 16, h, w]
        latents in model space ((mean - shift) * scale)."""
        k = branch_index(branch)
        pixels = image_to_vae_input(k, image, self.vae_encoding).to(device=self.vae.device, dtype=self.vae.dtype)
        moments = self.vae.encode(pixels).latent_dist.mean.float()
        return (moments - self.vae.config.shift_factor) * self.vae.config.scaling_factor

    def decode_latents(self, latents: torch.Tensor) -> dict[str, torch.Tensor]:
        """[3G, 16, h, w] model-space latents -> {'albedo','material','normal': [G, H, W, 3] float32 CPU}."""
        z = latents / self.vae.config.scaling_factor + self.vae.config.shift_factor
        images = self.vae.decode(z.to(self.vae.dtype), return_dict=False)[0].float().cpu()  # [3G, 3, H, W] ~[-1, 1]
        return {name: vae_output_to_image(k, images[k::NUM_BRANCHES], self.vae_encoding).contiguous()
                for k, name in enumerate(BRANCHES)}

    def _prepare_conditions(self, conditioning, groups, height, width, device) -> dict[int, PreparedCondition]:
        prepared = {}
        h, w = height // self.vae_scale_factor, width // self.vae_scale_factor
        for key, condition in (conditioning or {}).items():
            k = branch_index(key)
            if condition.image is not None:
                image = broadcast_rows(condition.image, groups, f"conditioning[{key!r}].image")
                if tuple(image.shape[1:3]) != (height, width):
                    raise ValueError(f"conditioning[{key!r}].image must be {height}x{width}, got {tuple(image.shape[1:3])}")
                clean = self.encode_image(k, image.contiguous())
            else:
                clean = broadcast_rows(condition.latents, groups, f"conditioning[{key!r}].latents").float()
            expected = (groups, self.transformer.config.in_channels // 4, h, w)
            if tuple(clean.shape) != expected:
                raise ValueError(f"conditioning[{key!r}].latents must have shape [N or 1, {expected[1]}, {h}, {w}], "
                                 f"got {list(clean.shape)}")
            mask = None
            if condition.mask is not None:
                mask = mask_to_latent(condition.mask, groups, height, width, h, w).to(device)
            prepared[k] = PreparedCondition(condition.mode, clean.to(device), mask)
        return prepared

    def _broadcast_embeds(self, embeds, pooled, groups, device, dtype):
        """[P, L, D], [P, Dp] (P = 1 shared or 3 per branch) -> [3G, L, D], [3G, Dp] in row layout."""
        rows = groups * NUM_BRANCHES
        if embeds.shape[0] == 1:
            embeds, pooled = embeds.expand(rows, -1, -1), pooled.expand(rows, -1)
        else:
            embeds, pooled = embeds.repeat(groups, 1, 1), pooled.repeat(groups, 1)
        return embeds.to(device=device, dtype=dtype), pooled.to(device=device, dtype=dtype)

    # -- generation ---------------------------------------------------------------------------------

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | Sequence[str] | None = None,
        height: int = 512,
        width: int = 512,
        num_inference_steps: int = 28,
        guidance_scale: float = 3.5,
        num_images_per_prompt: int = 1,
        generator: torch.Generator | None = None,
        latents: torch.Tensor | None = None,
        prompt_embeds: torch.Tensor | None = None,
        pooled_prompt_embeds: torch.Tensor | None = None,
        negative_prompt: str | Sequence[str] | None = None,
        negative_prompt_embeds: torch.Tensor | None = None,
        negative_pooled_prompt_embeds: torch.Tensor | None = None,
        true_cfg_scale: float = 1.0,
        conditioning: Mapping[str | int, BranchCondition] | None = None,
        tileable: bool = False,
        tile_offset: str | int | tuple[int, int] = "random",
        max_sequence_length: int | None = None,
        output_type: str = "pt",
        return_dict: bool = True,
        callback_on_step_end: Callable | None = None,
        callback_on_step_end_tensor_inputs: Sequence[str] = ("latents",),
    ) -> IntrinsiXOutput | tuple:
        """Generate N = num_images_per_prompt sets of albedo, material and normal maps.

        prompt: one shared prompt, or a list of 3 (albedo, material, normal prompts).
        height, width: pixels, positive multiples of `size_multiple` (16 for Flux).
        num_inference_steps: flow-matching Euler steps (28); guidance_scale: embedded guidance (3.5).
        generator: torch.Generator for the initial noise (and the tile offsets): same seed, same maps.
        latents: optional initial noise [3N, 16, H/8, W/8] (rows albedo, material, normal, albedo, ...).
        prompt_embeds [1 or 3, L, D] + pooled_prompt_embeds [1 or 3, Dp]: instead of `prompt`.
        negative_prompt(+_embeds) and true_cfg_scale > 1: true classifier-free guidance
            v = v_neg + s (v - v_neg) (off by default; doubles the transformer batch).
        conditioning: {branch name or index: BranchCondition} ("cross" / "repaint", conditioning.py).
        tileable: seamless textures (wrap-around VAE padding + latent rolling, tiling.py);
            tile_offset: "random" or a fixed int / (dy, dx) latent shift per step.
        max_sequence_length: T5 tokens (default min(512, tokenizer_2.model_max_length)).
        output_type: "pt" (decoded maps) or "latent" (latents only, no VAE needed).
        callback_on_step_end(pipe, step_index, timestep, callback_kwargs) -> dict, called after each
            step with callback_kwargs holding the tensors named in callback_on_step_end_tensor_inputs
            ("latents": [3N, 16, h, w] float32 in the current, possibly rolled, frame; "prompt_embeds");
            a returned "latents" replaces the current ones. Setting pipe._interrupt = True stops early.
        Returns IntrinsiXOutput (or a tuple (albedo, material, normal, latents) if not return_dict).
        """
        from .denoise import run_denoising_loop

        self.check_inputs(prompt, height, width, num_inference_steps, guidance_scale, num_images_per_prompt,
                          prompt_embeds, pooled_prompt_embeds, negative_prompt, negative_prompt_embeds,
                          negative_pooled_prompt_embeds, true_cfg_scale, max_sequence_length, conditioning,
                          output_type, callback_on_step_end_tensor_inputs)
        self._interrupt = False
        device = self._execution_device
        dtype = self.transformer.dtype
        groups = num_images_per_prompt

        if prompt_embeds is None:
            prompt_embeds, pooled_prompt_embeds = self.encode_prompt(prompt, device, max_sequence_length)
        embeds, pooled = self._broadcast_embeds(prompt_embeds, pooled_prompt_embeds, groups, device, dtype)
        if true_cfg_scale > 1:
            if negative_prompt_embeds is None:
                negative_prompt_embeds, negative_pooled_prompt_embeds = self.encode_prompt(
                    negative_prompt, device, max_sequence_length)
            neg_embeds, neg_pooled = self._broadcast_embeds(negative_prompt_embeds, negative_pooled_prompt_embeds,
                                                            groups, device, dtype)
            if neg_embeds.shape[1] != embeds.shape[1]:
                raise ValueError(f"negative prompt embeddings have {neg_embeds.shape[1]} tokens, the prompt's have "
                                 f"{embeds.shape[1]}: they must match")
            embeds, pooled = torch.cat([embeds, neg_embeds]), torch.cat([pooled, neg_pooled])

        noise = self.prepare_latents(groups, height, width, generator, device, latents)
        latent_h, latent_w = noise.shape[-2:]
        config = self.scheduler.config
        mu = timestep_shift_mu((latent_h // 2) * (latent_w // 2), config.get("base_image_seq_len", 256),
                               config.get("max_image_seq_len", 4096), config.get("base_shift", 0.5),
                               config.get("max_shift", 1.15))
        sigmas = np.linspace(1.0, 1.0 / num_inference_steps, num_inference_steps)
        self.scheduler.set_timesteps(sigmas=sigmas, mu=mu, device=device)
        self.scheduler.set_begin_index(0)

        roller = None
        if tileable:
            seed_device = generator.device if generator is not None else torch.device("cpu")
            seed = int(torch.randint(0, 2**31 - 1, (), generator=generator, device=seed_device))
            roller = LatentRoller(latent_h, latent_w, tile_offset, torch.Generator().manual_seed(seed))
        wrap = vae_wraparound(self.vae, True) if (tileable and self.vae is not None) else contextlib.nullcontext()
        with wrap:
            conditions = self._prepare_conditions(conditioning, groups, height, width, device)
            final = run_denoising_loop(
                self, noise, embeds, pooled,
                text_ids=text_position_ids(embeds.shape[1], device=device),
                image_ids=image_position_ids(latent_h, latent_w, device=device),
                conditions=conditions, guidance_scale=guidance_scale, true_cfg_scale=true_cfg_scale,
                roller=roller, callback_on_step_end=callback_on_step_end,
                callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs)
            maps = {name: None for name in BRANCHES}
            if output_type != "latent":
                maps = self.decode_latents(final)
        out_latents = final.reshape(groups, NUM_BRANCHES, *final.shape[1:]).cpu()
        self.maybe_free_model_hooks()
        if not return_dict:
            return maps["albedo"], maps["material"], maps["normal"], out_latents
        return IntrinsiXOutput(albedo=maps["albedo"], material=maps["material"], normal=maps["normal"],
                               latents=out_latents)
