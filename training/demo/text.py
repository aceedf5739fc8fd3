"""Tokenizers and text encoders of the demo model, built from the procedural caption vocabulary.

The demo model only ever sees captions of the procedural materials (`training.data`): a closed
vocabulary of 54 words ("polished", "gold", "tiles", "mortar", ...). The tokenizers are trained
on every caption the generator can produce, so that each of these words is ONE token; any other
text still tokenizes (bytes for CLIP, characters for T5), it just carries no learnt meaning.

- CLIP tokenizer: byte-level BPE (`CLIPTokenizer`, the FLUX.1 `tokenizer/` folder format), merges
  learnt by the `tokenizers` BPE trainer on the caption corpus, 77 tokens.
- T5 tokenizer: unigram (`T5TokenizerFast`, `tokenizer_2/`), one piece per vocabulary word with
  its log frequency in the corpus as the score, plus single-character pieces (far lower scores) so
  that unknown words fall back to characters; `model_max_length` = `T5_TOKENS`.

The text encoders (`CLIPTextModel`, `T5EncoderModel`) are small and stay at their seeded random
initialisation, frozen, in every training stage (docs/demo-model.md explains why that is enough:
with one token per word, a random encoder is a fixed random code of the words that the trained
transformer learns to read).
"""

from __future__ import annotations

import json
import math
import string
from collections import Counter

import torch
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer, T5Config, T5EncoderModel, T5Tokenizer

from ..data.materials import MaterialSpec, caption
from ..data.vocabulary import FAMILIES

CLIP_TOKENS = 77
T5_TOKENS = 24  # longest caption: 9 words + end token; the rest is room for a few unknown words
# CLIP's pre-tokenizer (the transformers CLIPTokenizer's own): words, single digits, punctuation runs.
_CLIP_SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def caption_corpus() -> list[str]:
    """Every caption the procedural generator can write (all families, colours, finishes, variants
    and joint colours), sorted."""
    captions = set()
    for fam in FAMILIES.values():
        for colour in fam.colours:
            for finish in fam.finishes:
                for variant in fam.variants:
                    for secondary in fam.secondary or (None,):
                        if secondary != colour:
                            captions.add(caption(MaterialSpec(fam.name, colour, finish, variant, secondary, {}, 0)))
    return sorted(captions)


def vocabulary_words(corpus: list[str] | None = None) -> list[str]:
    """The distinct words of the corpus, sorted."""
    return sorted({word for text in (corpus or caption_corpus()) for word in text.split()})


def build_clip_tokenizer(corpus: list[str] | None = None) -> CLIPTokenizer:
    """Byte-level BPE CLIP tokenizer whose merges are learnt on the caption corpus (every corpus
    word becomes one token). Ids: 0 <|startoftext|>, 1 <|endoftext|> (also pad and unknown)."""
    corpus = corpus or caption_corpus()
    bpe = Tokenizer(models.BPE(continuing_subword_prefix="", end_of_word_suffix="</w>"))
    bpe.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Lowercase()])
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_CLIP_SPLIT), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False)])
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    # Room for every byte with and without the word-end mark plus all merges the corpus can use.
    trainer = trainers.BpeTrainer(vocab_size=2 * len(alphabet) + 2 + 4096, min_frequency=1, show_progress=False,
                                  special_tokens=["<|startoftext|>", "<|endoftext|>"], initial_alphabet=alphabet,
                                  end_of_word_suffix="</w>")
    bpe.train_from_iterator(corpus, trainer=trainer)
    learnt = bpe.get_vocab()
    # Every byte symbol in both forms (so any text tokenizes), then the learnt merge results.
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for symbol in alphabet:
            vocab.setdefault(symbol + suffix, len(vocab))
    for token, _ in sorted(learnt.items(), key=lambda item: item[1]):
        vocab.setdefault(token, len(vocab))
    # The learnt merges in rank order, from the serialised tokenizer (lists or "a b" strings).
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m)
              for m in json.loads(bpe.to_str())["model"]["merges"]]
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=CLIP_TOKENS)


def build_t5_tokenizer(corpus: list[str] | None = None) -> T5Tokenizer:
    """Unigram T5 tokenizer: one piece per corpus word (score = log relative frequency) and
    character pieces for anything else. Ids: 0 <pad>, 1 </s>, 2 <unk>."""
    corpus = corpus or caption_corpus()
    counts = Counter(word for text in corpus for word in text.split())
    total = sum(counts.values())
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -20.0)]
    for word, count in sorted(counts.items()):
        pieces.append(("\u2581" + word, math.log(count / total)))
    # Character fallback: far less likely than any word, so a known word is never split.
    for symbol in string.ascii_lowercase + string.ascii_uppercase + string.digits + string.punctuation:
        pieces += [(symbol, -30.0), ("\u2581" + symbol, -29.0)]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=T5_TOKENS)


def build_text_encoders(width: int, layers: int, seed: int) -> tuple[CLIPTextModel, T5EncoderModel]:
    """Seeded random CLIP and T5 encoders of hidden size `width`, frozen, eval mode.
    CLIP pooled output: [N, width]; T5 last hidden state: [N, T5_TOKENS, width]."""
    heads = max(1, width // 32)
    torch.manual_seed(seed)
    clip = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(build_clip_tokenizer()), hidden_size=width, intermediate_size=2 * width,
        num_hidden_layers=layers, num_attention_heads=heads, max_position_embeddings=CLIP_TOKENS,
        projection_dim=width, bos_token_id=0, eos_token_id=1, pad_token_id=1))
    torch.manual_seed(seed + 1)
    t5 = T5EncoderModel(T5Config(
        vocab_size=len(build_t5_tokenizer()), d_model=width, d_kv=width // heads, d_ff=2 * width,
        num_layers=layers, num_heads=heads, relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1,
        decoder_start_token_id=0))
    for model in (clip, t5):
        model.eval().requires_grad_(False)
    return clip, t5
