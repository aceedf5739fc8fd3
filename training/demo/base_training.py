"""Pre-training the demo model's base FluxTransformer2DModel (the stand-in for FLUX.1-dev).

FLUX.1-dev is a general image model that IntrinsiX adapts with LoRAs. The demo base gets its
knowledge the same way FLUX got its own: full training of the transformer by flow matching on
images with captions, here maps of the procedural materials: the albedo maps only for the bundled
model (`build.DEMO_BASE_MAPS`, the analogue of FLUX's photos), or any of the three map types
(`maps`; this trainer's default is all three, the previous bundled model's branch-agnostic base),
or "photo": renders of the materials under a random light (`photos.py`; measured in
docs/demo-model.md, build J, without gain).
One set of weights, no LoRA, plain (per-image) attention. Each training sample is ONE map of one
material, the map type drawn uniformly out of `maps`, captioned with the material's plain caption
("rough red brick with grey mortar"), the text the product's users write (with `word_dropout` also
the caption without its finish or its colour word, `bank.caption_variants`, drawn with
CAPTION_VARIANT_PROBABILITIES; with `caption_dropout` p the empty caption for a fraction p of the
samples, so the model also learns the unconditional prediction that true classifier-free guidance
steers away from). So the base reads colour, family and variant from exactly the prompt embeddings
it will get at generation. Trained on all three map types it learns, for each caption, a
distribution over them, and its albedo branch sometimes drew another map type (colour 84-88 % of
the held-out prompts); trained on albedo only it never makes a normal or material map, but ignores
the finish word (an albedo does not depend on it), which the material LoRA then learns alone
(docs/demo-model.md, "The base on albedo"). (A first build captioned each map with its type,
"normal map of ...": the LoRAs, fed plain captions, had to relearn how to read the prompt and lost
the colour of most held-out prompts.)

Flow matching as the trainers do it (REFERENCE.md section 3, `training.flow`): x_t = (1 - s) x0 +
s * noise, sigma ~ U[0, 1), target noise - x0, MSE; embedded guidance 1.0. The clean latents x0
and the text embeddings of the whole bank are computed once (posterior means of the trained VAE,
each material rolled by a random offset first, as the VAE saw them). AdamW with warm-up and a
time-driven cosine decay, and an exponential moving average of the weights (decay `ema_decay`,
with the usual short-run warm-up min(decay, (1 + n) / (10 + n))) that becomes the saved base.

Precision: float32 by default. With bf16 autocast the first backward pass of this transformer
failed on the H100 used for the bundled model (torch 2.11 + CUDA 13: CUBLAS_STATUS_EXECUTION_FAILED
in a bf16 cublasGemmEx), while the VAE's bf16 training ran; at this size float32 costs little.
`mixed_precision=True` turns bf16 autocast on again.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import torch

from ..flow import flow_loss, flow_target, noisy_latents, predict_velocity
from .bank import (CAPTION_VARIANT_PROBABILITIES, CAPTION_VARIANTS, MAPS, MaterialBank, caption_variants,
                   check_caption_dropout)
from .photos import render_photos
from .vae_training import encode_maps, random_crops, schedule_factor

# What the base can train on: the three map types, and "photo", the material rendered under a
# random light (`photos.render_photos`), seen by the VAE as an albedo-like image.
BASE_MAPS = MAPS + ("photo",)


@dataclass
class BaseTrainingConfig:
    max_seconds: float = 150.0
    max_steps: int = 1_000_000
    batch_size: int = 64  # (material, map type) samples per step
    lr: float = 8e-4
    warmup_steps: int = 100
    ema_decay: float = 0.999
    guidance: float = 1.0  # embedded guidance during training (REFERENCE.md section 3)
    mixed_precision: bool = False  # bf16 autocast on CUDA (see the module docstring)
    word_dropout: bool = False  # also show captions without finish / colour word (CAPTION_VARIANT_PROBABILITIES)
    caption_dropout: float = 0.0  # probability of the empty caption (classifier-free guidance), in [0, 0.5]
    maps: tuple[str, ...] = MAPS  # image types the base trains on, each drawn equally often (`parse_base_maps`)
    seed: int = 0

    def __post_init__(self):
        check_caption_dropout(self.caption_dropout)
        self.maps = parse_base_maps(self.maps)


def parse_base_maps(maps: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The image types the base trains on, in `BASE_MAPS` order: 'albedo' or 'albedo,photo' or a
    sequence of names; each name once, at least one. Raises ValueError naming the allowed names."""
    names = [n.strip() for n in maps.split(",")] if isinstance(maps, str) else list(maps)
    unknown = [n for n in names if n not in BASE_MAPS]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(f"base maps (--base-maps) must be distinct names out of {', '.join(BASE_MAPS)} "
                         f"(at least one), got {maps!r}")
    return tuple(n for n in BASE_MAPS if n in names)


@dataclass
class BaseData:
    maps: tuple[str, ...]  # the image types of latents' dim 1, in BASE_MAPS order
    latents: torch.Tensor  # [N, len(maps), 16, h, w] model space ((mean - shift) * scale), bfloat16
    embeds: torch.Tensor  # [N, V, L, D] T5 embeddings of the V caption variants of each material, bfloat16
    pooled: torch.Tensor  # [N, V, Dp] CLIP pooled embeddings of the caption variants, bfloat16
    empty_embeds: torch.Tensor  # [L, D] T5 embeddings of the empty caption (caption dropout), bfloat16
    empty_pooled: torch.Tensor  # [Dp] CLIP pooled embedding of the empty caption, bfloat16


@torch.no_grad()
def prepare_base_data(pipe, bank: MaterialBank, device: torch.device, seed: int,
                      maps: tuple[str, ...] | str = MAPS, chunk: int = 256) -> BaseData:
    """Latents and text embeddings of every bank material, for each image type of `maps` (names
    out of BASE_MAPS; see the module docstring). `pipe`: an IntrinsiXPipeline holding the trained
    VAE and the text encoders, on `device`. Photos are rendered here, on the bank's device."""
    maps = parse_base_maps(maps)
    vae = pipe.vae
    generator = torch.Generator().manual_seed(seed)
    latents, embeds, pooled = [], [], []
    for start in range(0, len(bank), chunk):
        stop = min(len(bank), start + chunk)
        per_map = []
        for name in maps:
            if name == "photo":
                source = render_photos(bank.albedo[start:stop], bank.material[start:stop], bank.normal[start:stop],
                                       generator)
                index = torch.arange(stop - start)
            else:
                source, index = bank.maps(name), torch.arange(start, stop)
            # Rolled and randomly mirrored whole materials (random_crops with crop = the full size).
            images = random_crops(source, index, bank.size, generator, negate_x_on_flip=name == "normal")
            raw = encode_maps(vae, "albedo" if name == "photo" else name, images, device, encoding=pipe.vae_encoding)
            per_map.append(((raw - vae.config.shift_factor) * vae.config.scaling_factor).to(torch.bfloat16))
        latents.append(torch.stack(per_map, dim=1))
        variants = [caption_variants(bank.captions[i], bank.finishes[i], bank.colours[i]) for i in range(start, stop)]
        e, p = pipe.encode_prompt([text for v in variants for text in v], device=device)  # material-major
        embeds.append(e.to(torch.bfloat16).reshape(stop - start, len(CAPTION_VARIANTS), *e.shape[1:]))
        pooled.append(p.to(torch.bfloat16).reshape(stop - start, len(CAPTION_VARIANTS), -1))
    empty_embeds, empty_pooled = pipe.encode_prompt([""], device=device)
    return BaseData(maps, torch.cat(latents), torch.cat(embeds), torch.cat(pooled), empty_embeds[0].to(torch.bfloat16),
                    empty_pooled[0].to(torch.bfloat16))


def train_base(transformer: torch.nn.Module, data: BaseData, config: BaseTrainingConfig, device: torch.device,
               log=print) -> list[dict]:
    """Train the base transformer in place (the EMA weights are copied in at the end); returns one
    row per step ({"step", "loss", "seconds"})."""
    missing = [name for name in config.maps if name not in data.maps]
    if missing:
        raise ValueError(f"the base data has no {', '.join(missing)} latents (prepared for {', '.join(data.maps)})")
    transformer.to(device).train().requires_grad_(True)
    params = [p for p in transformer.parameters() if p.requires_grad]
    ema = [p.detach().clone().float() for p in params]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.01, betas=(0.9, 0.99))
    generator = torch.Generator().manual_seed(config.seed)
    use_bf16 = config.mixed_precision and device.type == "cuda"
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext()
    count = data.latents.shape[0]
    branches = torch.tensor([data.maps.index(name) for name in config.maps])  # indices into data.latents dim 1
    variant_probabilities = torch.tensor(CAPTION_VARIANT_PROBABILITIES if config.word_dropout else
                                         (1.0,) + (0.0,) * (len(CAPTION_VARIANTS) - 1))
    history = []
    began = time.perf_counter()
    step = 0
    while step < config.max_steps:
        elapsed = time.perf_counter() - began
        if elapsed > config.max_seconds:
            break
        for group in optimizer.param_groups:
            group["lr"] = config.lr * schedule_factor(elapsed / config.max_seconds, step, config.warmup_steps)
        index = torch.randint(0, count, (config.batch_size,), generator=generator).to(device)
        branch = branches[torch.randint(0, len(branches), (config.batch_size,), generator=generator)].to(device)
        variant = torch.multinomial(variant_probabilities, config.batch_size, replacement=True,
                                    generator=generator).to(device)
        x0 = data.latents[index, branch].float()
        sigma = torch.rand(config.batch_size, generator=generator).to(device)
        noise = torch.randn(x0.shape, generator=generator).to(device)
        x_t = noisy_latents(x0, noise, sigma)
        embeds, pooled = data.embeds[index, variant].float(), data.pooled[index, variant].float()
        if config.caption_dropout > 0:
            empty = (torch.rand(config.batch_size, generator=generator) < config.caption_dropout).to(device)
            embeds = torch.where(empty[:, None, None], data.empty_embeds.float(), embeds)
            pooled = torch.where(empty[:, None], data.empty_pooled.float(), pooled)
        with autocast:
            velocity = predict_velocity(transformer, x_t, sigma, embeds, pooled, config.guidance, torch.float32)
        loss = flow_loss(velocity, flow_target(x0, noise))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        step += 1
        decay = min(config.ema_decay, (1.0 + step) / (10.0 + step))
        with torch.no_grad():
            torch._foreach_lerp_(ema, [p.detach().float() for p in params], 1.0 - decay)
        # Losses stay on the device until logged: a float() per step would stall the GPU queue.
        history.append({"step": step, "loss": loss.detach(), "seconds": time.perf_counter() - began})
        if step % 250 == 0 or step == 1:
            recent = float(torch.stack([h["loss"] for h in history[-50:]]).mean())
            log(f"base step {step}: loss {recent:.4f} ({history[-1]['seconds']:.0f} s)")
    with torch.no_grad():
        for p, e in zip(params, ema):
            p.copy_(e.to(p.dtype))
    transformer.eval().requires_grad_(False)
    for row in history:
        row["loss"] = float(row["loss"])
    log(f"base: {step} steps in {time.perf_counter() - began:.1f} s")
    return history
