"""LPIPS (VGG variant) from LOCAL weight files, for the optional perceptual term of stage 2.

Nothing is downloaded: the loss exists only when the config names two files on disk.

- backbone: a torchvision VGG16 state dict (`features.{i}.weight` [C_out, C_in, 3, 3] and
  `.bias`; `classifier.*` keys are ignored), as a .pth/.pt (read with weights_only=True) or
  .safetensors file.
- linear: the LPIPS v0.1 VGG calibration layers, `lin{k}.model.1.weight` [1, C_k, 1, 1] for the
  five taps (C = 64, 128, 256, 512, 512), same file types.

Distance (Zhang et al. 2018): inputs in [-1, 1] are standardised with LPIPS's fixed shift and
scale, VGG16 features are taken after relu1_2, relu2_2, relu3_3, relu4_3, relu5_3, unit-normalised
along channels, their squared difference weighted per channel by the linear layer, averaged over
pixels and summed over the taps. d(x, x) = 0; gradients flow to both inputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

# VGG16 `features` up to relu5_3: conv widths, "M" = 2x2 max pool (torchvision's indices).
_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
_TAPS = (3, 8, 15, 22, 29)  # indices of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 in `features`
_TAP_CHANNELS = (64, 128, 256, 512, 512)
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


def _read_state(path: str | os.PathLike, what: str) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: no such file {path} (LPIPS weights are never downloaded)")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{what}: {path} does not hold a state dict")
    return state


class LPIPS(nn.Module):
    """LPIPS-VGG distance; frozen (no parameter requires grad). Build with `from_files`."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in _VGG16:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=False)]
                channels = item
        self.features = nn.Sequential(*layers)  # indices 0..29 as torchvision's vgg16().features
        self.linear = nn.ParameterList([nn.Parameter(torch.zeros(c)) for c in _TAP_CHANNELS])
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def from_files(cls, backbone: str | os.PathLike, linear: str | os.PathLike) -> LPIPS:
        """Load the two local files (module docstring); errors name the missing or misshaped keys."""
        model = cls()
        vgg = _read_state(backbone, "loss.lpips_backbone")
        wanted = {f"features.{k}" for k in model.features.state_dict()}
        missing = sorted(wanted - set(vgg))
        if missing:
            raise ValueError(f"loss.lpips_backbone {backbone}: not a torchvision VGG16 state dict; missing "
                             f"{missing[:4]}{' ...' if len(missing) > 4 else ''}")
        features = {k[len("features."):]: v for k, v in vgg.items() if k in wanted}
        _load_checked(model.features, features, f"loss.lpips_backbone {backbone}")
        lin = _read_state(linear, "loss.lpips_linear")
        for k, channels in enumerate(_TAP_CHANNELS):
            key = f"lin{k}.model.1.weight"
            if key not in lin:
                raise ValueError(f"loss.lpips_linear {linear}: missing {key} (LPIPS v0.1 VGG linear layers)")
            if tuple(lin[key].shape) != (1, channels, 1, 1):
                raise ValueError(f"loss.lpips_linear {linear}: {key} must have shape [1, {channels}, 1, 1], "
                                 f"got {list(lin[key].shape)}")
            with torch.no_grad():
                model.linear[k].copy_(lin[key].reshape(channels).float())
        return model

    def forward(
        self,
        x: torch.Tensor,  # [N, 3, H, W] in [-1, 1]
        y: torch.Tensor,  # [N, 3, H, W] in [-1, 1]
    ) -> torch.Tensor:  # [N] distances
        if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"LPIPS inputs must both be [N, 3, H, W], got {tuple(x.shape)} and {tuple(y.shape)}")
        if min(x.shape[-2:]) < 16:  # four 2x2 poolings before the last tap
            raise ValueError(f"LPIPS inputs must be at least 16 x 16 pixels, got {x.shape[-2]} x {x.shape[-1]}")
        dtype = self.linear[0].dtype
        fx = (x.to(dtype) - self.shift) / self.scale
        fy = (y.to(dtype) - self.shift) / self.scale
        total = x.new_zeros(x.shape[0], dtype=dtype)
        tap = 0
        for index, layer in enumerate(self.features):
            fx, fy = layer(fx), layer(fy)
            if index == _TAPS[tap]:
                nx = fx / (fx.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
                ny = fy / (fy.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
                weighted = (nx - ny).pow(2) * self.linear[tap].view(1, -1, 1, 1)
                total = total + weighted.sum(dim=1).mean(dim=(1, 2))
                tap += 1
                if tap == len(_TAPS):
                    break
        return total


def _load_checked(module: nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    own = module.state_dict()
    wrong = [f"{k}: expected {list(v.shape)}, got {list(state[k].shape)}" for k, v in own.items()
             if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        raise ValueError(f"{where}: wrong shapes: {'; '.join(wrong[:4])}")
    module.load_state_dict({k: v.float() for k, v in state.items()})
