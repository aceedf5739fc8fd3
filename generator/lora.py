"""Per-branch LoRA on the frozen Flux projections, batched over the three branches.

`BranchLoRALinear` is an `nn.Linear` (same `weight`/`bias`, frozen) carrying one low-rank adapter
per branch, stacked: `lora_down` [3, r, in] and `lora_up` [3, out, r]. For branch b:

    y_b = x_b W^T + bias + scale * (x_b down_b^T) up_b^T,      scale = alpha / r

Training mode computes the frozen base projection ONCE for the whole batch (one GEMM over all
rows) and the three deltas as two batched matrix products over the branch axis (`torch.bmm` /
`torch.baddbmm`, no Python loop over branches). Inference mode (`merge()`) stores each branch's
merged weight W_b = W + scale * up_b @ down_b (computed in float32, stored in the weight dtype) and
runs one batched GEMM of the three branch inputs with the three merged weights.

Rows of the batch follow the cyclic branch layout of `branches.py` (row i -> branch i % 3) unless
`branch_ids` pins an explicit branch per row (stage-1 training of one intrinsic, for example).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .branches import NUM_BRANCHES, num_groups

# Adapted projections (REFERENCE §1): image stream of the double blocks, q/k/v of the single blocks.
DOUBLE_BLOCK_TARGETS: tuple[str, ...] = ("to_q", "to_k", "to_v", "to_out.0")
SINGLE_BLOCK_TARGETS: tuple[str, ...] = ("to_q", "to_k", "to_v")
# Name of the fused q/k/v module that `fusion.fuse_branch_qkv` attaches to an attention layer.
FUSED_QKV_ATTRIBUTE = "branch_qkv"


class BranchLoRALinear(nn.Linear):
    """A frozen linear layer with one rank-`rank` adapter per branch (see the module docstring).

    weight: [out, in] frozen base weight (shared with the wrapped layer, not copied)
    bias:   [out] or None, frozen
    lora_down: [3, rank, in] trainable (A in LoRA papers), initialised N(0, std 1/rank)
    lora_up:   [3, out, rank] trainable (B), initialised to zero, so the layer starts equal to the base
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rank: int = 64,
        alpha: float | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ):
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        if not isinstance(rank, int) or rank < 1 or rank > min(in_features, out_features):
            raise ValueError(
                f"rank must be an integer in [1, {min(in_features, out_features)}] for a "
                f"{in_features}->{out_features} projection, got {rank!r}"
            )
        alpha = float(rank) if alpha is None else float(alpha)
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        self.rank = rank
        self.alpha = alpha
        self.lora_down = nn.Parameter(torch.empty(NUM_BRANCHES, rank, in_features, device=device, dtype=dtype))
        self.lora_up = nn.Parameter(torch.zeros(NUM_BRANCHES, out_features, rank, device=device, dtype=dtype))
        self.weight.requires_grad_(False)
        if self.bias is not None:
            self.bias.requires_grad_(False)
        # [3, out, in] merged weights in inference mode (not saved with the state dict).
        self.register_buffer("merged_weight", None, persistent=False)
        # [B] int64 branch of each batch row; None = cyclic layout (row i -> branch i % 3).
        self.branch_ids: torch.Tensor | None = None
        self.reset_lora_parameters()

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    @property
    def merged(self) -> bool:
        return self.merged_weight is not None

    @classmethod
    def from_linear(cls, linear: nn.Linear, rank: int = 64, alpha: float | None = None,
                    dtype: torch.dtype | None = None, generator: torch.Generator | None = None) -> BranchLoRALinear:
        """Wrap `linear`: the new layer shares its weight and bias tensors (no copy).

        dtype: dtype of the LoRA parameters (default: the base weight's dtype).
        """
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be a torch.nn.Linear, got {type(linear).__name__}")
        weight = linear.weight
        module = cls(linear.in_features, linear.out_features, bias=linear.bias is not None, rank=rank,
                     alpha=alpha, device="meta", dtype=weight.dtype)
        module.weight = linear.weight
        module.bias = linear.bias
        module.weight.requires_grad_(False)
        if module.bias is not None:
            module.bias.requires_grad_(False)
        lora_dtype = dtype or weight.dtype
        module.lora_down = nn.Parameter(torch.empty(NUM_BRANCHES, rank, linear.in_features,
                                                    device=weight.device, dtype=lora_dtype))
        module.lora_up = nn.Parameter(torch.zeros(NUM_BRANCHES, linear.out_features, rank,
                                                  device=weight.device, dtype=lora_dtype))
        module.reset_lora_parameters(generator)
        return module

    def reset_lora_parameters(self, generator: torch.Generator | None = None) -> None:
        """down ~ N(0, std 1/rank), up = 0 (REFERENCE §1)."""
        if self.lora_down.is_meta:
            return
        with torch.no_grad():
            if generator is None:
                self.lora_down.normal_(0.0, 1.0 / self.rank)
            else:
                sample = torch.randn(self.lora_down.shape, generator=generator, device=generator.device)
                self.lora_down.copy_(sample / self.rank)
            self.lora_up.zero_()

    def to_linear(self) -> nn.Linear:
        """A plain nn.Linear sharing this layer's frozen weight and bias (the adapters dropped)."""
        linear = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None, device="meta")
        linear.weight = self.weight
        linear.bias = self.bias
        return linear

    def effective_weight(self, branch: int) -> torch.Tensor:  # [out, in] float32
        """W + scale * up_b @ down_b in float32: what branch `branch` computes."""
        delta = self.lora_up[branch].float() @ self.lora_down[branch].float()
        return self.weight.float() + self.scale * delta

    @torch.no_grad()
    def merge(self) -> None:
        """Inference mode: store W_b = W + scale * up_b @ down_b per branch ([3, out, in], weight dtype,
        computed in at least float32).

        Costs 3 extra copies of the weight; the adapters must not change while merged (call
        `unmerge()` before training them again).
        """
        compute = torch.promote_types(self.weight.dtype, torch.float32)  # float32, or float64 weights
        delta = torch.bmm(self.lora_up.to(compute), self.lora_down.to(compute))
        merged = self.weight.to(compute).unsqueeze(0) + self.scale * delta
        self.merged_weight = merged.to(self.weight.dtype)

    def unmerge(self) -> None:
        """Back to training mode: drop the merged copies."""
        self.merged_weight = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [B, ..., in] -> [B, ..., out]
        if x.dim() < 2:
            raise ValueError(f"input must have shape [B, ..., {self.in_features}], got {tuple(x.shape)}")
        batch = x.shape[0]
        rows = x.reshape(batch, -1, self.in_features)  # [B, T, in]
        if self.merged_weight is not None:
            if torch.is_grad_enabled() and self.training and (self.lora_down.requires_grad or self.lora_up.requires_grad):
                raise RuntimeError(
                    "BranchLoRALinear is merged (inference mode) but is being trained: call unmerge() "
                    "(or unmerge_branch_lora(transformer)) before training the adapters"
                )
            out = self._forward_merged(rows)
        else:
            base = F.linear(rows, self.weight, self.bias)  # one GEMM for all branches
            out = self._add_delta(base, rows)
        return out.reshape(*x.shape[:-1], self.out_features)

    # -- internals -------------------------------------------------------------------------------

    def _branch_major(self, rows: torch.Tensor) -> tuple[torch.Tensor, int]:
        """[3G, T, C] cyclic layout -> [3, G*T, C] (a view when G == 1), and G."""
        groups = num_groups(rows.shape[0], "BranchLoRALinear input batch")
        if groups == 1:
            return rows, 1
        t, c = rows.shape[1], rows.shape[2]
        return rows.view(groups, NUM_BRANCHES, t, c).transpose(0, 1).reshape(NUM_BRANCHES, groups * t, c), groups

    def _row_major(self, branch_rows: torch.Tensor, groups: int, tokens: int) -> torch.Tensor:
        """Inverse of `_branch_major`: [3, G*T, C] -> [3G, T, C]."""
        if groups == 1:
            return branch_rows
        c = branch_rows.shape[-1]
        return branch_rows.view(NUM_BRANCHES, groups, tokens, c).transpose(0, 1).reshape(groups * NUM_BRANCHES, tokens, c)

    def _add_delta(self, base: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        down = self.lora_down.to(rows.dtype)
        up = self.lora_up.to(rows.dtype)
        if self.branch_ids is not None:
            ids = self.branch_ids.to(rows.device)
            if ids.shape != (rows.shape[0],):
                raise ValueError(f"branch_ids must have shape [{rows.shape[0]}] (one branch per batch row), "
                                 f"got {tuple(ids.shape)}")
            hidden = torch.bmm(rows, down[ids].transpose(1, 2))  # [B, T, r]
            return torch.baddbmm(base, hidden, up[ids].transpose(1, 2), alpha=self.scale)
        branch_rows, groups = self._branch_major(rows)  # [3, G*T, in]
        hidden = torch.bmm(branch_rows, down.transpose(1, 2))  # [3, G*T, r]
        if groups == 1:
            # The base output already has the branch-major layout: fuse the add into the GEMM.
            return torch.baddbmm(base, hidden, up.transpose(1, 2), alpha=self.scale)
        delta = torch.bmm(hidden, up.transpose(1, 2))  # [3, G*T, out]
        return base + self.scale * self._row_major(delta, groups, rows.shape[1])

    def _forward_merged(self, rows: torch.Tensor) -> torch.Tensor:
        weight = self.merged_weight
        if self.branch_ids is not None:
            ids = self.branch_ids.to(rows.device)
            out = torch.bmm(rows, weight[ids].transpose(1, 2))
        else:
            branch_rows, groups = self._branch_major(rows)
            out = self._row_major(torch.bmm(branch_rows, weight.transpose(1, 2)), groups, rows.shape[1])
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, rank={self.rank}, alpha={self.alpha}, branches={NUM_BRANCHES}, "
                f"merged={self.merged}")


# -- transformer-level helpers ---------------------------------------------------------------------


def adapted_linear_names(transformer: nn.Module) -> list[str]:
    """Module paths of the adapted projections of a FluxTransformer2DModel, in file order.

    e.g. 'transformer_blocks.0.attn.to_q', ..., 'single_transformer_blocks.37.attn.to_v'
    (19 * 4 + 38 * 3 = 190 for FLUX.1-dev).
    """
    for attr in ("transformer_blocks", "single_transformer_blocks"):
        if not hasattr(transformer, attr):
            raise TypeError(f"transformer must be a diffusers FluxTransformer2DModel (no `{attr}` attribute), "
                            f"got {type(transformer).__name__}")
    names = [f"transformer_blocks.{i}.attn.{t}" for i in range(len(transformer.transformer_blocks))
             for t in DOUBLE_BLOCK_TARGETS]
    names += [f"single_transformer_blocks.{i}.attn.{t}" for i in range(len(transformer.single_transformer_blocks))
              for t in SINGLE_BLOCK_TARGETS]
    return names


def _replace_module(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


def add_branch_lora(
    transformer: nn.Module,
    rank: int = 64,
    alpha: float | None = None,
    dtype: torch.dtype | None = None,
    generator: torch.Generator | None = None,
) -> dict[str, BranchLoRALinear]:
    """Replace every adapted projection by a `BranchLoRALinear` (adapters start as the identity).

    rank: LoRA rank r (default 64); alpha: scale numerator (default r, i.e. scale 1.0);
    dtype: dtype of the adapter parameters (default: the base weight's).
    The base weights are frozen (requires_grad False); the adapters are trainable.
    Returns {module path: layer}. Raises if the transformer already has branch LoRA layers.
    """
    existing = branch_lora_modules(transformer)
    if existing:
        raise ValueError(f"the transformer already has {len(existing)} BranchLoRALinear layers; call "
                         "remove_branch_lora(transformer) first")
    layers = {}
    for name in adapted_linear_names(transformer):
        linear = transformer.get_submodule(name)
        layer = BranchLoRALinear.from_linear(linear, rank=rank, alpha=alpha, dtype=dtype, generator=generator)
        _replace_module(transformer, name, layer)
        layers[name] = layer
    return layers


def branch_lora_modules(transformer: nn.Module) -> dict[str, BranchLoRALinear]:
    """{module path: layer} of every BranchLoRALinear in the transformer."""
    return {name: m for name, m in transformer.named_modules() if isinstance(m, BranchLoRALinear)}


def _require_layers(transformer: nn.Module) -> dict[str, BranchLoRALinear]:
    layers = branch_lora_modules(transformer)
    if not layers:
        raise ValueError("the transformer has no BranchLoRALinear layers: call add_branch_lora() or load a LoRA first")
    return layers


def _drop_fused_qkv(transformer: nn.Module) -> None:
    # Fused q/k/v weights are views of the merged weights: stale once those are replaced or dropped.
    for module in transformer.modules():
        if FUSED_QKV_ATTRIBUTE in module._modules:
            del module._modules[FUSED_QKV_ATTRIBUTE]


def merge_branch_lora(transformer: nn.Module) -> None:
    """Switch every branch LoRA layer to inference mode (per-branch merged weights).

    Any fused q/k/v projection is dropped (call `fusion.fuse_branch_qkv` again after merging).
    """
    layers = _require_layers(transformer)
    _drop_fused_qkv(transformer)
    for layer in layers.values():
        layer.merge()


def unmerge_branch_lora(transformer: nn.Module) -> None:
    """Switch every branch LoRA layer back to training mode (drops merged copies and fused q/k/v)."""
    layers = _require_layers(transformer)
    _drop_fused_qkv(transformer)
    for layer in layers.values():
        layer.unmerge()


def remove_branch_lora(transformer: nn.Module) -> None:
    """Put plain nn.Linear layers (the same frozen weights) back in place of the branch LoRA layers."""
    _drop_fused_qkv(transformer)
    for name, layer in branch_lora_modules(transformer).items():
        _replace_module(transformer, name, layer.to_linear())


def set_branch_ids(transformer: nn.Module, branch_ids: torch.Tensor | None) -> None:
    """Pin the branch of each batch row (int64 [B], values 0..2), or None for the cyclic layout.

    Example: stage-1 training of the material LoRA alone on a batch of 2 -> torch.tensor([1, 1]).
    """
    if branch_ids is not None:
        branch_ids = torch.as_tensor(branch_ids, dtype=torch.long)
        if branch_ids.dim() != 1:
            raise ValueError(f"branch_ids must be a 1-D tensor [B], got shape {tuple(branch_ids.shape)}")
        if branch_ids.numel() and (int(branch_ids.min()) < 0 or int(branch_ids.max()) >= NUM_BRANCHES):
            raise ValueError(f"branch_ids values must lie in [0, {NUM_BRANCHES - 1}], got {branch_ids.tolist()}")
    for layer in _require_layers(transformer).values():
        layer.branch_ids = branch_ids


def branch_lora_parameters(transformer: nn.Module) -> list[nn.Parameter]:
    """The trainable adapter parameters (lora_down and lora_up of every layer), for an optimizer."""
    params = []
    for layer in _require_layers(transformer).values():
        params += [layer.lora_down, layer.lora_up]
    return params
