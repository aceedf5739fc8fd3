"""Training the demo model's VAE (AutoencoderKL, 16 latent channels) on the procedural maps.

One VAE serves the three map types, as FLUX's does. Its inputs are the maps as the pipeline and
the trainers encode them (`training.components.to_vae_input` with the config's `VAEEncoding`):
material [0, 1] -> [-1, 1]; albedo likewise, as linear values (REFERENCE.md section 1) or sRGB
encoded; normals raw (unit vectors, z > 0) or with x and y companded. A batch holds `batch_size` random
crops of each map type; every crop comes from a material rolled by a random offset first (the
procedural materials tile, so a rolled material is another valid material) and is mirrored
left-right half of the time (normal x negated, as the InteriorVerse loader does).

Loss, on [-1, 1] images, per map type: L1 + MSE of the reconstruction plus `gradient_weight` times
the L1 of its horizontal and vertical pixel differences (the thin features of these maps, mortar
and grout lines and the bevel slopes that make the relief, are what a short training loses first);
the normal map weighted `normal_weight` (its relief is a small signal on top of z ~ 1), and with
`spectrum_weight` also the L1 between the amplitude spectra of its x and y channels (blind to where
the threads of a fabric lie, so the decoder is paid for making them instead of averaging them
away); for the
albedo also `srgb_weight` times the L1 of the sRGB-encoded reconstruction (names of colours are
judged on the sRGB encoding, where a dark linear albedo of 0.01 is 0.1: a first build reproduced
"black" with linear errors of 0.005 that read as strongly tinted; the term is taken on the
reconstruction clamped to [0, 1], so decoded blacks may sink to 0: a build that extended it below
0 with weight 2 reproduced black but lost all relief, brick 10.2 -> 0.3 deg; with the "srgb" albedo
encoding the terms above are already on sRGB values and this one is skipped); plus
`kl_weight` times the mean KL to N(0, 1) per latent element (keeps the latent bounded; it is
rescaled afterwards anyway). With `adversarial_weight` > 0 a patch discriminator (hinge loss) joins
after `adversarial_start` steps, as in the VAEs of latent diffusion: the decoder's adversarial
term is scaled so that its gradient at the last layer matches the reconstruction's
(`adaptive_adversarial_weight`), times `adversarial_weight`. Noise-like detail the decoder cannot
place exactly (fabric weave, leather grain) is what an L1 decoder averages away and what a
discriminator asks for. Both extra terms are off by default: in a demo build's minutes neither kept
the fine relief (docs/demo-model.md, "VAE losses"). The decoder sees the posterior mean plus `latent_noise` times the
posterior standard deviation times N(0, 1): a first build that decoded full posterior samples lost
the relief (posterior std ~0.2-0.4 against latent values of std ~2 swamped it), a little noise
still teaches the decoder to tolerate the small latent errors a diffusion model makes. AdamW,
linear warm-up then cosine decay driven by elapsed time (`max_seconds`) or steps (`max_steps`),
whichever ends first; bf16 autocast on CUDA.

After training, `set_latent_statistics` measures the posterior means of bank materials and writes
`shift_factor` = their mean and `scaling_factor` = 1 / their standard deviation into the VAE
config, so model-space latents (mean - shift) * scale have zero mean and unit variance, as FLUX's
do (its VAE ships shift 0.1159, scale 0.3611 for the same purpose).

With `decoder_only` the encoder is frozen (its posterior means computed without gradients, no KL
term) and the decoder alone trains: the fine-tune at the generation size of `decoder_finetune.py`
and the build's `vae_decoder` stage, which keeps every latent a transformer learnt valid;
`wraparound_fraction` of those steps decode with wrap-around padding, as tileable generation does.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

import torch

from intrinsix.generator import branch_index
from intrinsix.generator.conditioning import LINEAR, VAEEncoding, vae_output_to_image
from intrinsix.generator.tiling import vae_wraparound
from intrinsix.pbr.colorspace import linear_to_srgb

from ..components import to_vae_input
from ..data.colours import mean_albedo_matches
from .bank import MAPS, MaterialBank
from .evaluate import mean_tilt_degrees


@dataclass
class VAETrainingConfig:
    max_seconds: float = 80.0
    max_steps: int = 1_000_000
    batch_size: int = 16  # crops per map type per step (3x as many images)
    crop: int = 128  # pixels, a multiple of 8
    lr: float = 1e-3
    warmup_steps: int = 50
    kl_weight: float = 1e-4
    normal_weight: float = 6.0
    gradient_weight: float = 1.0
    srgb_weight: float = 1.0
    latent_noise: float = 0.1
    spectrum_weight: float = 0.0  # L1 of the normal maps' amplitude spectra (0 = off)
    adversarial_weight: float = 0.0  # patch discriminator on every map type (0 = off)
    adversarial_start: int = 500  # steps of reconstruction only before the discriminator joins
    discriminator_lr: float = 2e-4
    albedo_encoding: str = "linear"  # how albedo and normal maps enter the VAE (generator.conditioning.VAEEncoding)
    normal_encoding: str = "linear"
    decoder_only: bool = False  # train the decoder alone on the frozen encoder's latents (fine-tuning)
    wraparound_fraction: float = 0.0  # with decoder_only: share of steps decoded with wrap-around padding
    seed: int = 0

    def __post_init__(self):
        for name in ("spectrum_weight", "adversarial_weight", "kl_weight", "normal_weight", "gradient_weight",
                     "srgb_weight", "latent_noise"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"VAETrainingConfig.{name} must be a finite number >= 0, got {value!r}")
        self.encoding  # checks both encodings
        if not 0.0 <= self.wraparound_fraction <= 1.0:
            raise ValueError("VAETrainingConfig.wraparound_fraction must be in [0, 1], "
                             f"got {self.wraparound_fraction}")
        if self.wraparound_fraction > 0 and not self.decoder_only:
            raise ValueError("VAETrainingConfig.wraparound_fraction needs decoder_only: wrap-around padding in the "
                             "encoder would change the latents a transformer learnt")
        if self.adversarial_start < 0:
            raise ValueError(f"VAETrainingConfig.adversarial_start must be >= 0, got {self.adversarial_start}")


    @property
    def encoding(self) -> VAEEncoding:
        return VAEEncoding(albedo=self.albedo_encoding, normal=self.normal_encoding)


def schedule_factor(progress: float, step: int, warmup_steps: int) -> float:
    """Learning-rate multiplier: linear warm-up over `warmup_steps`, then cosine from 1 to 0.05 as
    `progress` (elapsed fraction of the budget, in [0, 1]) goes from 0 to 1."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, progress))))


def random_crops(
    maps: torch.Tensor,  # [N, S, S, 3] float16 (any device)
    index: torch.Tensor,  # [B] int64 materials to crop
    crop: int,
    generator: torch.Generator,  # CPU generator
    negate_x_on_flip: bool,
) -> torch.Tensor:  # [B, crop, crop, 3] float32 on maps.device
    """Rolled (tileable materials), cropped and randomly mirrored samples of `maps`, gathered in one
    indexing operation: row r of sample b is material row (dy_b + r) mod S, column c is
    (dx_b + c) mod S, or (dx_b + crop - 1 - c) mod S when the sample is mirrored."""
    count, size = index.shape[0], maps.shape[1]
    offsets = torch.randint(0, size, (count, 2), generator=generator)
    mirrored = torch.rand(count, generator=generator) < 0.5
    steps = torch.arange(crop)
    rows = (offsets[:, 0:1] + steps) % size  # [B, crop]
    cols = torch.where(mirrored[:, None], crop - 1 - steps, steps)
    cols = (offsets[:, 1:2] + cols) % size
    device = maps.device
    images = maps[index.to(device)[:, None, None], rows.to(device)[:, :, None], cols.to(device)[:, None, :]].float()
    if negate_x_on_flip:
        sign = torch.ones(count, 1, 1, 3)
        sign[mirrored, ..., 0] = -1.0
        images = images * sign.to(device)
    return images


def spectrum_difference(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean L1 between the amplitude spectra of two image batches [B, C, H, W] (orthonormal 2-D
    FFT per channel, so amplitudes are on the pixels' scale, Parseval). It ignores where a pattern
    lies (the phase) and asks only for the right amount of it at each spatial frequency: a decoder
    that cannot place a fabric's threads exactly still pays for leaving them out."""
    amplitude = lambda x: torch.fft.rfft2(x, norm="ortho").abs()  # noqa: E731
    return (amplitude(recon) - amplitude(target)).abs().mean()


class PatchDiscriminator(torch.nn.Module):
    """A small PatchGAN critic: [B, 3, H, W] images in [-1, 1] -> [B, 1, H/4 - 2, W/4 - 2] scores, one
    per 34 x 34 pixel patch (four 4 x 4 convolutions, two of stride 2)."""

    def __init__(self, width: int = 64):
        super().__init__()
        act = lambda: torch.nn.LeakyReLU(0.2)  # noqa: E731
        self.layers = torch.nn.Sequential(
            torch.nn.Conv2d(3, width, 4, 2, 1), act(),
            torch.nn.Conv2d(width, 2 * width, 4, 2, 1), torch.nn.GroupNorm(8, 2 * width), act(),
            torch.nn.Conv2d(2 * width, 4 * width, 4, 1, 1), torch.nn.GroupNorm(8, 4 * width), act(),
            torch.nn.Conv2d(4 * width, 1, 4, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)


def adaptive_adversarial_weight(reconstruction: torch.Tensor, adversarial: torch.Tensor,
                                last_layer: torch.Tensor) -> torch.Tensor:
    """|grad of the reconstruction loss| / |grad of the adversarial loss| at the decoder's last
    layer, clamped to [0, 1e4] and detached: the adversarial term then pushes that layer as hard as
    the reconstruction does (times `adversarial_weight`), whatever the two losses' scales."""
    g_rec = torch.autograd.grad(reconstruction, last_layer, retain_graph=True)[0]
    g_adv = torch.autograd.grad(adversarial, last_layer, retain_graph=True)[0]
    return (g_rec.norm() / (g_adv.norm() + 1e-4)).clamp(0.0, 1e4).detach()


def reconstruction_loss(recon: torch.Tensor, images: torch.Tensor, config: VAETrainingConfig
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """The weighted reconstruction loss of the module docstring for a batch of the three map types
    in MAPS order (`recon`, `images`: [3B, 3, H, W] in [-1, 1], B crops per map type); returns
    (loss, per-pixel error [3, B, 3 * H * W])."""
    count = images.shape[0] // len(MAPS)
    difference = recon.float() - images  # [3B, 3, H, W]
    error = difference.reshape(len(MAPS), count, -1)
    per_map = error.abs().mean(dim=(1, 2)) + (error ** 2).mean(dim=(1, 2))
    if config.gradient_weight > 0:
        dx = (difference[..., :, 1:] - difference[..., :, :-1]).abs().reshape(len(MAPS), count, -1)
        dy = (difference[..., 1:, :] - difference[..., :-1, :]).abs().reshape(len(MAPS), count, -1)
        per_map = per_map + config.gradient_weight * (dx.mean(dim=(1, 2)) + dy.mean(dim=(1, 2)))
    if config.srgb_weight > 0 and config.albedo_encoding == "linear":
        # Albedo rows come first (MAPS order). (With the "srgb" albedo encoding the terms above are
        # already taken on the sRGB values.)
        recon_srgb = linear_to_srgb((recon[:count].float() + 1.0) * 0.5)  # clamps to [0, 1]
        target_srgb = linear_to_srgb((images[:count] + 1.0) * 0.5)
        srgb = (recon_srgb - target_srgb).abs().mean()
        per_map = per_map + torch.stack([config.srgb_weight * srgb, srgb.new_zeros(()), srgb.new_zeros(())])
    if config.spectrum_weight > 0:
        # Normal rows come last (MAPS order).
        spectrum = spectrum_difference(recon[2 * count:, :2].float(), images[2 * count:, :2])
        per_map = per_map + torch.stack([spectrum.new_zeros(()), spectrum.new_zeros(()),
                                         config.spectrum_weight * spectrum])
    weights = {"albedo": 1.0, "material": 1.0, "normal": config.normal_weight}
    loss = sum(weights[name] * per_map[k] for k, name in enumerate(MAPS)) / sum(weights.values())
    return loss, error


def train_vae(vae: torch.nn.Module, bank: MaterialBank, config: VAETrainingConfig, device: torch.device,
              log=print) -> list[dict]:
    """Train `vae` in place on the bank (see the module docstring); returns one row per step
    ({"step", "loss", "l1", "kl", "seconds"}, with the discriminator also "adversarial",
    "balance" and "discriminator"). The bank may live on `device` already."""
    if config.crop % 8 or config.crop > bank.size:
        raise ValueError(f"crop must be a multiple of 8 no larger than the bank size {bank.size}, got {config.crop}")
    vae.to(device).train().requires_grad_(not config.decoder_only)
    if config.decoder_only:
        # The encoder (and so every latent a transformer was trained on) stays as it is.
        vae.encoder.eval()
        for part in (vae.decoder, vae.post_quant_conv):
            if part is not None:
                part.requires_grad_(True)
    trained = [p for p in vae.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=config.lr, weight_decay=1e-4, betas=(0.9, 0.99))
    generator = torch.Generator().manual_seed(config.seed)
    discriminator = None
    if config.adversarial_weight > 0:
        with torch.random.fork_rng(devices=[]):  # seeded critic, global random state untouched
            torch.manual_seed(config.seed + 1)
            discriminator = PatchDiscriminator().to(device).train()
        critic_optimizer = torch.optim.AdamW(discriminator.parameters(), lr=config.discriminator_lr,
                                             weight_decay=0.0, betas=(0.5, 0.9))
        last_layer = vae.decoder.conv_out.weight
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    history = []
    began = time.perf_counter()
    step = 0
    while step < config.max_steps:
        elapsed = time.perf_counter() - began
        if elapsed > config.max_seconds:
            break
        for group in optimizer.param_groups:
            group["lr"] = config.lr * schedule_factor(elapsed / config.max_seconds, step, config.warmup_steps)
        index = torch.randint(0, len(bank), (config.batch_size,), generator=generator)
        images = torch.cat([to_vae_input(name, random_crops(bank.maps(name), index, config.crop, generator,
                                                            negate_x_on_flip=name == "normal"),
                                         config.encoding)
                            for name in MAPS]).to(device, non_blocking=True)
        with autocast, torch.set_grad_enabled(not config.decoder_only):
            posterior = vae.encode(images).latent_dist
        # `--tileable` decodes with wrap-around padding: that share of the steps trains the decoder for it
        # (the padding is recorded in the graph at the forward pass, so it may be switched back before
        # the backward pass).
        wrap = (config.wraparound_fraction > 0
                and float(torch.rand((), generator=generator)) < config.wraparound_fraction)
        with autocast, vae_wraparound(vae, wrap):
            noise = torch.randn(posterior.mean.shape, device=device, dtype=posterior.mean.dtype)
            recon = vae.decode(posterior.mean + config.latent_noise * posterior.std * noise).sample
        reconstruction, error = reconstruction_loss(recon, images, config)
        kl = posterior.kl().float().mean() / posterior.mean[0].numel()
        loss = reconstruction if config.decoder_only else reconstruction + config.kl_weight * kl
        row = {}
        adversarial_on = discriminator is not None and step >= config.adversarial_start
        if adversarial_on:
            discriminator.requires_grad_(False)
            with autocast:
                adversarial = -discriminator(recon).float().mean()
            balance = adaptive_adversarial_weight(reconstruction, adversarial, last_layer)
            loss = loss + config.adversarial_weight * balance * adversarial
            row = {"adversarial": adversarial.detach(), "balance": balance}
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        if adversarial_on:
            # Hinge loss of the critic on real crops against the (detached) reconstructions.
            discriminator.requires_grad_(True)
            with autocast:
                real, fake = discriminator(images), discriminator(recon.detach())
            critic = 0.5 * (torch.relu(1.0 - real.float()).mean() + torch.relu(1.0 + fake.float()).mean())
            critic_optimizer.zero_grad(set_to_none=True)
            critic.backward()
            critic_optimizer.step()
            row["discriminator"] = critic.detach()
        step += 1
        # Values stay on the device until logged: a float() per step would stall the GPU queue.
        history.append({"step": step, "loss": loss.detach(), "l1": error.detach().abs().mean(), "kl": kl.detach(),
                        "seconds": time.perf_counter() - began, **row})
        if step % 200 == 0 or step == 1:
            extra = "".join(f" {k} {float(v):.3f}" for k, v in row.items())
            log(f"vae step {step}: loss {float(loss.detach()):.4f} l1 {float(history[-1]['l1']):.4f} "
                f"kl {float(kl.detach()):.2f}{extra} ({history[-1]['seconds']:.0f} s)")
    vae.eval().requires_grad_(False)
    for row in history:
        for key in ("loss", "l1", "kl", "adversarial", "balance", "discriminator"):
            if key in row:
                row[key] = float(row[key])
    log(f"vae: {step} steps in {time.perf_counter() - began:.1f} s")
    return history


@torch.no_grad()
def encode_maps(vae: torch.nn.Module, name: str, maps: torch.Tensor, device: torch.device,
                batch_size: int = 64, encoding: VAEEncoding = LINEAR) -> torch.Tensor:  # [N, 16, S/8, S/8] float32 on device
    """Posterior means of the VAE for bank maps [N, S, S, 3] (raw latents, before shift / scale)."""
    out = []
    for start in range(0, maps.shape[0], batch_size):
        pixels = to_vae_input(name, maps[start:start + batch_size].to(device).float(), encoding).to(vae.dtype)
        out.append(vae.encode(pixels).latent_dist.mean.float())
    return torch.cat(out)


@torch.no_grad()
def vae_round_trip(vae: torch.nn.Module, name: str, maps: torch.Tensor, encoding: VAEEncoding = LINEAR
                   ) -> torch.Tensor:
    """Maps [N, S, S, 3] of type `name` (albedo / material in [0, 1], normals unit vectors) encoded
    (posterior mean) and decoded, back in the same conventions as the pipeline decodes them
    (`vae_output_to_image`); float32 on the maps' device."""
    pixels = to_vae_input(name, maps.float(), encoding).to(vae.dtype)
    decoded = vae.decode(vae.encode(pixels).latent_dist.mean).sample
    return vae_output_to_image(branch_index(name), decoded, encoding)


@torch.no_grad()
def relief_round_trip(vae: torch.nn.Module, bank: MaterialBank, device: torch.device, per_family: int = 8,
                      encoding: VAEEncoding = LINEAR) -> dict:
    """{family: [mean tilt of the bank's normals, mean tilt after a VAE round trip]} in degrees,
    over up to `per_family` bank materials of each family: how much relief the VAE keeps (the
    generated normal maps cannot have more than the decoder makes)."""
    out = {}
    for family in sorted(set(bank.families)):
        index = [i for i, f in enumerate(bank.families) if f == family][:per_family]
        normals = bank.normal[index].to(device).float()  # [n, S, S, 3]
        decoded = vae_round_trip(vae, "normal", normals, encoding)
        out[family] = [round(mean_tilt_degrees(normals), 2), round(mean_tilt_degrees(decoded), 2)]
    return out


@torch.no_grad()
def colour_round_trip(vae: torch.nn.Module, bank: MaterialBank, device: torch.device, per_colour: int = 8,
                      encoding: VAEEncoding = LINEAR) -> dict:
    """{colour: [bank albedos whose colour check passes after a VAE round trip, albedos tried]}
    over up to `per_colour` bank materials of each colour (`colours.mean_albedo_matches`, the
    evaluation's check): which colour words the decoder can reproduce at all."""
    out = {}
    for colour in sorted(set(bank.colours)):
        index = [i for i, c in enumerate(bank.colours) if c == colour][:per_colour]
        decoded = vae_round_trip(vae, "albedo", bank.albedo[index].to(device), encoding)  # [n, S, S, 3] linear
        passed = sum(mean_albedo_matches(colour, image.cpu())[0] for image in decoded)
        out[colour] = [int(passed), len(index)]
    return out


@torch.no_grad()
def set_latent_statistics(vae: torch.nn.Module, bank: MaterialBank, device: torch.device, samples: int = 512,
                          encoding: VAEEncoding = LINEAR) -> dict:
    """Write shift_factor / scaling_factor (see the module docstring) from up to `samples` materials
    of each map type; returns {"shift_factor", "scaling_factor"}."""
    count = min(samples, len(bank))
    raw = torch.cat([encode_maps(vae, name, bank.maps(name)[:count], device, encoding=encoding)
                     for name in MAPS])
    shift = float(raw.mean())
    scale = float(1.0 / raw.std().clamp_min(1e-6))
    vae.register_to_config(shift_factor=shift, scaling_factor=scale)
    return {"shift_factor": shift, "scaling_factor": scale}
