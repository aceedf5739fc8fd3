"""Tiny random IntrinsiX components: the full architecture at toy size, built locally.

Used by the tests of every package (generator, server, training) and as the starting point of the
bundled demo model. Nothing is downloaded: the tokenizers are made here from a fixed character
vocabulary with the `tokenizers`-backed transformers classes and save/load in the standard formats
(`tokenizer.json`):

- tokenizer (CLIP): `CLIPTokenizer`, byte-level BPE over the 256 byte symbols with no merges
  (each character is a token; lower-cased as CLIP does), 77 tokens.
- tokenizer_2 (T5): `T5Tokenizer` (= T5TokenizerFast), a unigram vocabulary of printable ASCII
  characters with and without the word-start marker, `model_max_length` 32 (so the pipeline uses
  32 text tokens by default instead of 512).

Sizes: CLIP and T5 encoders of width 32 with 2 layers; VAE with 4 levels (8x downsampling as
FLUX's, 16 latent channels, block channels 8-8-16-16); FluxTransformer2DModel with 2 double and
2 single blocks, 2 heads of 16 channels (rotary axes 4 + 6 + 6), guidance embedding on.
A 2-step 64x64 generation runs in well under a second on a CPU.
"""

from __future__ import annotations

import string

import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel
from tokenizers import pre_tokenizers
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer, T5Config, T5EncoderModel, T5Tokenizer

from .attention import set_cross_intrinsic_attention
from .lora import add_branch_lora, branch_lora_modules
from .pipeline import IntrinsiXPipeline

TEXT_WIDTH = 32
T5_TOKENS = 32
CLIP_TOKENS = 77


def make_clip_tokenizer() -> CLIPTokenizer:
    """Character-level byte BPE CLIP tokenizer (ids: 0 start, 1 end/pad, then 512 symbols)."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    for suffix in ("", "</w>"):
        for symbol in alphabet:
            vocab[symbol + suffix] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=CLIP_TOKENS)


def make_t5_tokenizer() -> T5Tokenizer:
    """Character-level unigram T5 tokenizer (ids: 0 pad, 1 end, 2 unknown)."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    for symbol in string.ascii_lowercase + string.ascii_uppercase + string.digits + string.punctuation:
        pieces += [(symbol, -5.0), ("\u2581" + symbol, -4.0)]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=T5_TOKENS)


def make_tiny_transformer(seed: int = 0, num_layers: int = 2, num_single_layers: int = 2) -> FluxTransformer2DModel:
    torch.manual_seed(seed)
    return FluxTransformer2DModel(
        patch_size=1, in_channels=64, num_layers=num_layers, num_single_layers=num_single_layers,
        attention_head_dim=16, num_attention_heads=2, joint_attention_dim=TEXT_WIDTH,
        pooled_projection_dim=TEXT_WIDTH, guidance_embeds=True, axes_dims_rope=(4, 6, 6))


def make_tiny_vae(seed: int = 0) -> AutoencoderKL:
    torch.manual_seed(seed)
    return AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(8, 8, 16, 16), layers_per_block=1,
        latent_channels=16, norm_num_groups=4, sample_size=64, scaling_factor=0.3611, shift_factor=0.1159,
        use_quant_conv=False, use_post_quant_conv=False)


def make_tiny_scheduler() -> FlowMatchEulerDiscreteScheduler:
    """FLUX.1-dev's scheduler configuration (dynamic shifting)."""
    return FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
        base_image_seq_len=256, max_image_seq_len=4096)


def make_tiny_components(seed: int = 0) -> dict:
    """The seven FLUX.1 pipeline components at toy size (random weights from `seed`, eval mode):
    scheduler, vae, text_encoder, tokenizer, text_encoder_2, tokenizer_2, transformer.
    The transformer is the plain Flux transformer (no LoRA, default attention)."""
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(make_clip_tokenizer()), hidden_size=TEXT_WIDTH, intermediate_size=37, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=CLIP_TOKENS, projection_dim=TEXT_WIDTH,
        bos_token_id=0, eos_token_id=1, pad_token_id=1))
    torch.manual_seed(seed + 1)
    text_encoder_2 = T5EncoderModel(T5Config(
        vocab_size=len(make_t5_tokenizer()), d_model=TEXT_WIDTH, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0))
    components = {
        "scheduler": make_tiny_scheduler(),
        "vae": make_tiny_vae(seed + 2),
        "text_encoder": text_encoder,
        "tokenizer": make_clip_tokenizer(),
        "text_encoder_2": text_encoder_2,
        "tokenizer_2": make_t5_tokenizer(),
        "transformer": make_tiny_transformer(seed + 3),
    }
    for module in components.values():
        if isinstance(module, torch.nn.Module):
            module.eval().requires_grad_(False)
    return components


def randomize_branch_lora(transformer: torch.nn.Module, seed: int = 0, std: float = 0.05) -> None:
    """Give every branch adapter random non-zero up weights (so the three branches differ)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in branch_lora_modules(transformer).values():
            sample = torch.randn(layer.lora_up.shape, generator=generator) * std
            layer.lora_up.copy_(sample)


def make_tiny_pipeline(seed: int = 0, lora_rank: int = 4, cross_attention: bool = True) -> IntrinsiXPipeline:
    """A ready IntrinsiXPipeline on tiny random components: branch LoRA of rank `lora_rank` with
    random (non-zero) adapters and cross-intrinsic attention (unless `cross_attention` is False)."""
    components = make_tiny_components(seed)
    transformer = components["transformer"]
    add_branch_lora(transformer, rank=lora_rank, generator=torch.Generator().manual_seed(seed + 4))
    randomize_branch_lora(transformer, seed + 5)
    if cross_attention:
        set_cross_intrinsic_attention(transformer)
    transformer.requires_grad_(False)
    return IntrinsiXPipeline(**components)
