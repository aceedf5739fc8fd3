"""CUDA tier: the generator on the GPU agrees with the CPU results, and the fused attention
backends agree with the math backend in bf16. Self-contained (no fixtures): also runs with --noconftest."""

import pytest
import torch

from intrinsix.generator import (
    add_branch_lora,
    fuse_branch_qkv,
    make_tiny_pipeline,
    merge_branch_lora,
    randomize_branch_lora,
    set_cross_intrinsic_attention,
)
from intrinsix.generator.latents import image_position_ids, text_position_ids

pytestmark = pytest.mark.gpu


def relative_error(a, b):
    return float((a.double().cpu() - b.double().cpu()).norm() / b.double().cpu().norm())


def head128_model():
    """A 1+1-block Flux transformer with FLUX's head size (128) and branch LoRA, float64 on the CPU."""
    from diffusers import FluxTransformer2DModel

    torch.manual_seed(0)
    model = FluxTransformer2DModel(num_layers=1, num_single_layers=1, attention_head_dim=128, num_attention_heads=2,
                                   joint_attention_dim=64, pooled_projection_dim=64, guidance_embeds=True,
                                   axes_dims_rope=(16, 56, 56)).double().eval().requires_grad_(False)
    add_branch_lora(model, rank=8)
    randomize_branch_lora(model, seed=1, std=0.02)
    set_cross_intrinsic_attention(model)
    return model


def head128_inputs(device, dtype):
    g = torch.Generator().manual_seed(2)
    floats = dict(hidden_states=torch.randn(3, 256, 64, generator=g), encoder_hidden_states=torch.randn(3, 32, 64, generator=g),
                  pooled_projections=torch.randn(3, 64, generator=g), timestep=torch.full((3,), 0.5),
                  guidance=torch.full((3,), 3.5))
    inputs = {k: v.to(device, dtype) for k, v in floats.items()}
    inputs.update(txt_ids=text_position_ids(32, device=device), img_ids=image_position_ids(32, 32, device=device),
                  return_dict=False)
    return inputs


def test_tiny_pipeline_on_cuda_matches_cpu():
    pipe = make_tiny_pipeline(0)
    pipe.set_progress_bar_config(disable=True)
    kwargs = dict(prompt="mossy stone", height=64, width=64, num_inference_steps=2, output_type="latent")
    cpu = pipe(generator=torch.Generator().manual_seed(0), **kwargs)
    pipe.to("cuda")
    cuda = pipe(generator=torch.Generator().manual_seed(0), **kwargs)  # CPU generator: same noise
    assert relative_error(cuda.latents, cpu.latents) < 1e-3  # float32 (TF32 matmuls may be on)


def test_merged_fused_float32_on_cuda_matches_float64_cpu():
    model = head128_model()
    with torch.no_grad():
        reference = model(**head128_inputs("cpu", torch.float64))[0]
        model.to("cuda", torch.float32)
        merge_branch_lora(model)
        fuse_branch_qkv(model)
        previous = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        try:
            out = model(**head128_inputs("cuda", torch.float32))[0]
        finally:
            torch.backends.cuda.matmul.allow_tf32 = previous
    assert relative_error(out, reference) < 1e-4  # float32 end to end (rotary in float32 anyway)


@pytest.mark.parametrize("backend", ["FLASH_ATTENTION", "CUDNN_ATTENTION", "EFFICIENT_ATTENTION"])
def test_fused_attention_backends_match_math_in_bf16(backend):
    from torch.nn.attention import SDPBackend

    model = head128_model().to("cuda", torch.bfloat16)
    merge_branch_lora(model)
    fuse_branch_qkv(model)
    inputs = head128_inputs("cuda", torch.bfloat16)
    with torch.no_grad():
        set_cross_intrinsic_attention(model, sdpa_backends=[SDPBackend.MATH])
        math = model(**inputs)[0]
        set_cross_intrinsic_attention(model, sdpa_backends=[getattr(SDPBackend, backend)])
        fused = model(**inputs)[0]
    assert torch.isfinite(fused).all()
    assert relative_error(fused, math) < 2e-2  # bf16 attention: ~3e-3 expected
