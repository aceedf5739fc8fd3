"""Building blocks of the demo model: vocabulary tokenizers, sizes, crops, stage budgets and the
evaluation criteria (no training here; see test_train_demo_smoke.py and test_bundled_model.py)."""

import json

import pytest
import torch

from intrinsix.training.data import split_combinations
from intrinsix.training.data.vocabulary import FAMILIES, FINISH_ORDER
from intrinsix.training.demo.architecture import DEMO, TINY, DemoSizes
from intrinsix.training.demo.build import STAGE_MINUTES, STAGES, DemoBuildOptions, parse_minutes
from intrinsix.training.demo.evaluate import (check_metallic, check_normals, finish_partners, held_out_prompts,
                                              metal_prompts)
from intrinsix.training.demo.text import (T5_TOKENS, build_clip_tokenizer, build_t5_tokenizer, caption_corpus,
                                          vocabulary_words)
from intrinsix.training.data.materials import caption, sample_spec
from intrinsix.training.data.vocabulary import all_combinations
from intrinsix.training.demo.bank import CAPTION_VARIANTS, BankDataset, MaterialBank, caption_variants
from intrinsix.training.demo.vae_training import (PatchDiscriminator, VAETrainingConfig, adaptive_adversarial_weight,
                                                  random_crops, reconstruction_loss, schedule_factor,
                                                  spectrum_difference, train_vae)


@pytest.fixture(scope="module")
def tokenizers():
    corpus = caption_corpus()
    return corpus, build_clip_tokenizer(corpus), build_t5_tokenizer(corpus)


def test_every_vocabulary_word_is_one_token(tokenizers):
    corpus, clip, t5 = tokenizers
    words = vocabulary_words(corpus)
    assert {"polished", "gold", "mortar", "grout", "brick", "marble"} <= set(words)
    assert len(words) == 54
    for word in words:
        assert clip.tokenize(word) == [word + "</w>"], word
        assert t5.tokenize(word) == ["\u2581" + word], word


def test_tokenizers_encode_captions_and_unknown_text(tokenizers):
    _, clip, t5 = tokenizers
    ids = clip("glossy teal subway tiles with light grey grout").input_ids
    assert ids[0] == 0 and ids[-1] == 1 and len(ids) == 8 + 2  # start, 8 words, end
    ids = t5("rough red brick with grey mortar").input_ids
    assert len(ids) == 6 + 1 and ids[-1] == 1
    assert t5.model_max_length == T5_TOKENS
    # Unknown words still tokenize (characters / bytes), never to the unknown id alone.
    assert len(t5.tokenize("velvet")) == 6 and clip.unk_token_id not in clip("velvet!").input_ids[1:-1]


def test_sizes_give_even_rotary_axes_that_fill_the_head():
    for sizes in (DEMO, TINY):
        axes = sizes.rope_axes
        assert sum(axes) == sizes.head_dim and all(a % 2 == 0 and a > 0 for a in axes)
    assert DEMO.rope_axes == (8, 28, 28)
    with pytest.raises(ValueError, match="vae_groups 8 must divide"):
        DemoSizes(vae_channels=(12, 64, 128, 128))


def test_build_defaults_are_the_bundled_models_recipe(tmp_path):
    """`train demo` without options builds as the bundled model was built: sRGB albedo and companded
    normals in the VAE (the encodings its folder names), 32 crops per map type without latent noise,
    caption dropout 0.1 and so the guided default its folder names."""
    from intrinsix.generator.defaults import generation_defaults, vae_encoding
    from intrinsix.cli.generate import default_model_dir
    from intrinsix.training.demo.build import (DEMO_BASE_MAPS, DEMO_DECODER_BATCH, DEMO_DECODER_LR,
                                               DEMO_DECODER_WRAPAROUND, DEMO_ENCODING, GUIDED_CFG_SCALE)

    options = DemoBuildOptions(out=tmp_path / "m", work_dir=tmp_path / "w", device=torch.device("cpu"), sizes=TINY)
    bundled = generation_defaults(default_model_dir())
    assert options.encoding == DEMO_ENCODING == vae_encoding(bundled)
    assert (options.encoding.albedo, options.encoding.normal) == ("srgb", "sqrt")
    assert (options.vae_batch, options.vae_latent_noise, options.caption_dropout) == (32, 0.0, 0.1)
    assert options.default_true_cfg_scale == GUIDED_CFG_SCALE == bundled["true_cfg_scale"]
    report = json.loads((default_model_dir() / "demo_training.json").read_text())
    assert report["caption_dropout"] == 0.1
    # The base on albedo only and the stage minutes (the material LoRA 6 of them) the bundled folder records.
    assert list(options.base_maps) == list(DEMO_BASE_MAPS) == report["stages"]["base"]["maps"] == ["albedo"]
    assert options.minutes == STAGE_MINUTES == report["minutes"]
    assert (report["stages"]["vae"]["batch_size"], report["stages"]["vae"]["latent_noise"]) == (32, 0.0)
    decoder = report["stages"]["vae_decoder"]  # the decoder fitted at the generation size, as the stage does
    assert (decoder["size"], decoder["batch_size"], decoder["lr"], decoder["wraparound_fraction"]) == (
        256, DEMO_DECODER_BATCH, DEMO_DECODER_LR, DEMO_DECODER_WRAPAROUND)
    with pytest.raises(ValueError, match="vae_latent_noise \\(--vae-latent-noise\\) must be in \\[0, 1\\], got -0.5"):
        DemoBuildOptions(out=tmp_path / "m", work_dir=tmp_path / "w", device=torch.device("cpu"), sizes=TINY,
                         vae_latent_noise=-0.5)


def test_minutes_per_stage_parsing():
    assert parse_minutes(None) == STAGE_MINUTES
    # The bundled recipe's own keys: the material and normal LoRAs train twice as long as the albedo one.
    assert STAGE_MINUTES["stage1_material"] == STAGE_MINUTES["stage1_normal"] == 6.0 != STAGE_MINUTES["stage1"]
    # One number: every stage and every intrinsic (no per-intrinsic default left over).
    assert parse_minutes("2") == {name: 2.0 for name in STAGES}
    assert parse_minutes("base=3,stage2=1.5") == {**STAGE_MINUTES, "base": 3.0, "stage2": 1.5}
    # A named stage1 is the budget of each intrinsic not named with it, replacing stage1_material's default.
    assert parse_minutes("stage1=0.03,stage2=0.03") == {"bank": 1.0, "vae": 4.5, "vae_decoder": 3.0, "base": 8.0,
                                                         "stage1": 0.03, "stage2": 0.03}
    assert parse_minutes("stage1=2,stage1_normal=5") == {"bank": 1.0, "vae": 4.5, "vae_decoder": 3.0, "base": 8.0,
                                                          "stage1": 2.0, "stage1_normal": 5.0, "stage2": 3.5}
    assert parse_minutes("stage1_material=4") == {**STAGE_MINUTES, "stage1_material": 4.0}
    with pytest.raises(ValueError, match="stage must be one of bank, vae, vae_decoder, base, stage1, stage2, "
                                         "stage1_albedo, "
                                         "stage1_material, stage1_normal, got 'lora'"):
        parse_minutes("lora=1")
    with pytest.raises(ValueError, match=r"must be a number of minutes in \(0, 6000\], got -1.0"):
        parse_minutes("vae=-1")


def test_random_crops_roll_tile_and_mirror_with_negated_normal_x():
    size = 8
    maps = torch.zeros(2, size, size, 3)
    maps[..., 0] = torch.arange(size).float()  # x of the "normal" = column index
    maps[..., 1] = torch.arange(size).float()[:, None]  # y = row index
    maps[1] += 100.0
    generator = torch.Generator().manual_seed(0)
    crops = random_crops(maps.half(), torch.tensor([0, 1, 1, 0] * 8), 5, generator, negate_x_on_flip=True)
    assert crops.shape == (32, 5, 5, 3) and crops.dtype == torch.float32
    for crop in crops:
        rows = crop[:, 0, 1] % 100
        assert torch.equal((rows[1:] - rows[:-1]) % size, torch.ones(4))  # consecutive rows, wrapping
        cols = crop[0, :, 0]
        mirrored = bool(torch.signbit(cols).all())  # mirrored samples have their x negated (-0 included)
        cols = (cols.abs() % 100)
        step = (cols[1:] - cols[:-1]) % size
        assert torch.equal(step, torch.full((4,), float(size - 1 if mirrored else 1)))
    assert len({bool(torch.signbit(c[0, :, 0]).all()) for c in crops}) == 2  # both mirrored and not occur


def test_schedule_warms_up_then_decays_by_elapsed_fraction():
    assert schedule_factor(0.0, 0, 10) == pytest.approx(0.1)
    assert schedule_factor(0.0, 10, 10) == pytest.approx(1.0)
    assert schedule_factor(0.5, 100, 10) == pytest.approx(0.525)
    assert schedule_factor(1.0, 100, 10) == pytest.approx(0.05)


def test_eval_prompts_are_held_out_and_partners_differ_only_in_the_finish():
    held = set(split_combinations()[1])
    prompts = held_out_prompts(0)
    assert len(prompts) == len(held) == 25
    assert {(p.family, p.colour, p.finish) for p in prompts} == held
    assert all(p.held_out and p.finish in p.prompt for p in prompts)
    for prompt in prompts:
        partners = finish_partners(prompt)
        assert sorted(p.finish for p in partners) == sorted(set(FAMILIES[prompt.family].finishes) - {prompt.finish})
        for p in partners:
            assert p.prompt.split() == [p.finish if w == prompt.finish else w for w in prompt.prompt.split()]
            assert p.seed == prompt.seed
            assert p.held_out == ((p.family, p.colour, p.finish) in held)
    # Every held-out prompt has at least one trained partner: the seen control covers every prompt.
    assert all(any(not p.held_out for p in finish_partners(prompt)) for prompt in prompts)
    metals = metal_prompts()
    assert len(metals) == 9 and all(FAMILIES[p.family].is_metal and not p.held_out for p in metals)
    assert FINISH_ORDER.index("polished") < FINISH_ORDER.index("rough")


def test_metallic_and_normal_checks():
    material = torch.zeros(8, 8, 3)
    material[..., 1] = 0.9
    assert check_metallic("gold", material)[0] and not check_metallic("marble", material)[0]
    material[..., 1] = 0.1
    assert check_metallic("marble", material)[0] and not check_metallic("steel", material)[0]
    flat = torch.zeros(8, 8, 3)
    flat[..., 2] = 1.0
    ok, why = check_normals(flat, (0.0, 0.1))
    assert ok, why
    assert not check_normals(flat, (8.0, 16.0))[0]  # a brick-like family must not come out flat
    tilted = torch.nn.functional.normalize(torch.tensor([1.0, 0.0, 1.0]), dim=0).expand(8, 8, 3)
    assert not check_normals(tilted, (0.0, 0.1))[0]  # 45 deg everywhere is not marble
    assert check_normals(tilted, (30.0, 40.0))[0]
    assert not check_normals(flat * 0.5, (0.0, 0.1))[0]  # not unit length
    # A family whose flattest procedural material is invisibly tilted (marble 0.01 deg) may come out
    # exactly flat; one whose flattest material has visible relief (concrete 0.56 deg) may not.
    assert check_normals(flat, (0.01, 0.06))[0] and check_normals(flat, (0.09, 0.6))[0]
    assert not check_normals(flat, (0.56, 3.4))[0] and not check_normals(flat, (0.1, 0.6))[0]
    slightly = torch.nn.functional.normalize(torch.tensor([0.0045, 0.0, 1.0]), dim=0).expand(8, 8, 3)  # 0.26 deg
    assert check_normals(slightly, (0.56, 3.4))[0] is False and check_normals(slightly, (0.5, 3.4))[0]


def test_caption_variants_drop_the_finish_or_the_main_colour():
    assert caption_variants("matte black leather", "matte", "black") == (
        "matte black leather", "black leather", "matte leather")
    # Two-word colours go as a whole; the joint colour that comes later stays.
    assert caption_variants("satin dark grey brick with dark grey mortar", "satin", "dark grey") == (
        "satin dark grey brick with dark grey mortar", "dark grey brick with dark grey mortar",
        "satin brick with dark grey mortar")
    for i, (family, colour, finish) in enumerate(all_combinations()):
        text = caption(sample_spec(i, family=family, colour=colour, finish=finish))
        full, no_finish, no_colour = caption_variants(text, finish, colour)
        assert full == text and no_finish == text.split(" ", 1)[1]
        assert len(no_colour.split(" ")) == len(text.split(" ")) - len(colour.split(" ")), text
    with pytest.raises(ValueError, match="caption must start with its finish 'glossy'"):
        caption_variants("matte black leather", "glossy", "black")
    with pytest.raises(ValueError, match="caption must name its colour 'red'"):
        caption_variants("matte black leather", "matte", "red")


def test_bank_dataset_word_dropout_draws_every_caption_variant():
    maps = torch.zeros(1, 8, 8, 3, dtype=torch.float16)
    bank = MaterialBank(maps, maps, maps, ["glossy red plastic"], ["plastic"], ["red"], ["glossy"])
    assert {BankDataset(bank)[0]["caption"] for _ in range(20)} == {"glossy red plastic"}
    torch.manual_seed(0)
    seen = [BankDataset(bank, word_dropout=True)[0]["caption"] for _ in range(400)]
    counts = {text: seen.count(text) for text in set(seen)}
    assert set(counts) == {"glossy red plastic", "red plastic", "glossy plastic"} and len(CAPTION_VARIANTS) == 3
    assert counts["glossy red plastic"] > counts["red plastic"] > counts["glossy plastic"]  # 0.65 / 0.25 / 0.10


def test_vae_reconstruction_loss_weights_normals_and_reads_albedo_in_srgb():
    images = torch.zeros(3 * 2, 3, 8, 8)  # albedo, material, normal rows, 2 crops each
    loss, error = reconstruction_loss(images.clone(), images, VAETrainingConfig())
    assert float(loss) == 0.0 and error.shape == (3, 2, 3 * 8 * 8)
    config = VAETrainingConfig(gradient_weight=0.0, srgb_weight=0.0, normal_weight=6.0)
    for row, weight in ((0, 1.0), (2, 1.0), (4, 6.0)):  # a constant 0.1 error in one map type
        recon = images.clone()
        recon[row:row + 2] += 0.1
        expected = weight * (0.1 + 0.01) / 8.0  # (L1 + MSE) x weight / sum of weights
        assert abs(float(reconstruction_loss(recon, images, config)[0]) - expected) < 1e-6, row
    # The sRGB term: the same linear error costs more on a dark albedo than on a light one.
    dark, light = torch.full_like(images, -0.96), torch.full_like(images, 0.6)
    srgb_only = VAETrainingConfig(gradient_weight=0.0, srgb_weight=1.0)
    extra = [float(reconstruction_loss(x + 0.02, x, srgb_only)[0]) - float(reconstruction_loss(x + 0.02, x, config)[0])
             for x in (dark, light)]
    assert extra[0] > 3 * extra[1] > 0


def test_spectrum_term_ignores_where_a_pattern_lies_but_not_whether_it_is_there():
    rows = torch.arange(16).float()
    threads = torch.sin(2 * torch.pi * rows / 4)[None, None, :, None].expand(1, 2, 16, 16)  # period 4 px
    shifted = torch.roll(threads, 1, dims=2)  # the same threads, one pixel lower
    flat = torch.zeros_like(threads)
    assert float(spectrum_difference(shifted, threads)) < 1e-5
    assert float((shifted - threads).abs().mean()) > 0.5  # ... which an L1 punishes heavily
    assert float(spectrum_difference(flat, threads)) > 0.05  # leaving the threads out costs
    # In the loss it applies to the normal rows' x, y only, weighted like the rest of the normal term.
    images = torch.zeros(3, 3, 16, 16)
    images[2, :2] = threads[0]
    recon = images.clone()
    recon[2, :2] = shifted[0]
    base = VAETrainingConfig(gradient_weight=0.0, srgb_weight=0.0)
    with_spectrum = VAETrainingConfig(gradient_weight=0.0, srgb_weight=0.0, spectrum_weight=1.0)
    moved = float(reconstruction_loss(recon, images, with_spectrum)[0]) - float(reconstruction_loss(recon, images, base)[0])
    recon[2, :2] = 0.0
    missing = float(reconstruction_loss(recon, images, with_spectrum)[0]) - float(reconstruction_loss(recon, images, base)[0])
    assert abs(moved) < 1e-5 and missing > 0.05


def test_vae_config_rejects_negative_weights():
    with pytest.raises(ValueError, match="VAETrainingConfig.adversarial_weight must be a finite number >= 0, got -1"):
        VAETrainingConfig(adversarial_weight=-1.0)
    with pytest.raises(ValueError, match="adversarial_start must be >= 0"):
        VAETrainingConfig(adversarial_start=-5)


def test_patch_discriminator_scores_patches_and_balance_matches_gradients():
    critic = PatchDiscriminator(width=16)
    assert critic(torch.zeros(2, 3, 64, 64)).shape == (2, 1, 14, 14)
    layer = torch.nn.Parameter(torch.ones(4))
    reconstruction = (layer * 3.0).sum()  # gradient norm 3 * 2
    adversarial = (layer * 0.5).sum()  # gradient norm 0.5 * 2
    assert abs(float(adaptive_adversarial_weight(reconstruction, adversarial, layer)) - 6.0) < 1e-3


def _random_bank(size: int, count: int) -> MaterialBank:
    """`count` random maps of size^2 (uniform albedo and material, slightly tilted unit normals)."""
    generator = torch.Generator().manual_seed(0)
    normal = torch.nn.functional.normalize(torch.randn(count, size, size, 3, generator=generator) * 0.1
                                           + torch.tensor([0.0, 0.0, 1.0]), dim=-1)
    return MaterialBank(torch.rand(count, size, size, 3, generator=generator).half(),
                        torch.rand(count, size, size, 3, generator=generator).half(), normal.half(),
                        ["matte red plastic"] * count, ["plastic"] * count, ["red"] * count, ["matte"] * count)


def test_vae_training_with_the_discriminator_logs_its_terms():
    from intrinsix.training.demo.architecture import TINY, make_vae

    bank = _random_bank(32, count=4)
    vae = make_vae(TINY, 0)
    config = VAETrainingConfig(max_steps=4, batch_size=2, crop=16, adversarial_weight=0.5, adversarial_start=2,
                               spectrum_weight=1.0, warmup_steps=1)
    decoder_before = vae.decoder.conv_out.weight.detach().clone()
    history = train_vae(vae, bank, config, torch.device("cpu"), log=lambda _: None)
    assert [row["step"] for row in history] == [1, 2, 3, 4]
    assert "adversarial" not in history[1] and {"adversarial", "balance", "discriminator"} <= set(history[2])
    assert all(torch.isfinite(torch.tensor(row["loss"])) for row in history)
    assert history[3]["balance"] > 0 and not torch.equal(decoder_before, vae.decoder.conv_out.weight)


def test_bank_dataset_caption_dropout_empties_captions_at_its_rate():
    count = 4
    bank = MaterialBank(torch.zeros(count, 4, 4, 3).half(), torch.zeros(count, 4, 4, 3).half(),
                        torch.zeros(count, 4, 4, 3).half(), ["glossy red plastic"] * count, ["plastic"] * count,
                        ["red"] * count, ["glossy"] * count)
    torch.manual_seed(0)
    data = BankDataset(bank, caption_dropout=0.25)
    captions = [data[i % count]["caption"] for i in range(2000)]
    assert set(captions) == {"", "glossy red plastic"}
    assert 0.21 < captions.count("") / len(captions) < 0.29
    assert all(BankDataset(bank)[i]["caption"] == "glossy red plastic" for i in range(count))
    with pytest.raises(ValueError, match=r"caption_dropout \(--caption-dropout\) must be in \[0, 0.5\], got 0.8"):
        BankDataset(bank, caption_dropout=0.8)


def test_base_training_shows_the_empty_caption_at_the_dropout_rate(monkeypatch):
    """train_base swaps in the empty caption's embeddings for a `caption_dropout` share of a batch."""
    from intrinsix.training.demo import base_training
    from intrinsix.training.demo.base_training import BaseData, BaseTrainingConfig, train_base

    count, tokens, width = 6, 3, 4
    data = BaseData(maps=("albedo", "material", "normal"), latents=torch.zeros(count, 3, 16, 2, 2, dtype=torch.bfloat16),
                    embeds=torch.ones(count, len(CAPTION_VARIANTS), tokens, width, dtype=torch.bfloat16),
                    pooled=torch.ones(count, len(CAPTION_VARIANTS), width, dtype=torch.bfloat16),
                    empty_embeds=torch.full((tokens, width), -1.0, dtype=torch.bfloat16),
                    empty_pooled=torch.full((width,), -1.0, dtype=torch.bfloat16))
    seen = []

    def fake_velocity(transformer, x_t, sigma, embeds, pooled, guidance, dtype):
        assert torch.equal(embeds[:, 0, 0] < 0, pooled[:, 0] < 0)  # T5 and CLIP swapped together
        seen.append(embeds[:, 0, 0] < 0)
        return x_t * transformer.weight

    monkeypatch.setattr(base_training, "predict_velocity", fake_velocity)
    model = torch.nn.Linear(1, 1, bias=False)
    train_base(model, data, BaseTrainingConfig(max_steps=50, batch_size=40, caption_dropout=0.2), torch.device("cpu"),
               log=lambda _: None)
    share = float(torch.cat(seen).float().mean())
    assert 0.15 < share < 0.25
    with pytest.raises(ValueError, match=r"caption_dropout \(--caption-dropout\) must be in \[0, 0.5\]"):
        BaseTrainingConfig(caption_dropout=-0.1)


@pytest.mark.parametrize("maps", [("albedo",), ("albedo", "material"), ("albedo", "material", "normal"),
                                  ("albedo", "photo")])
def test_base_training_draws_only_the_named_map_types(monkeypatch, maps):
    """With `maps`, every sample of the base comes from those map types, each about equally often."""
    from intrinsix.training.demo import base_training
    from intrinsix.training.demo.base_training import BASE_MAPS, BaseData, BaseTrainingConfig, train_base

    count, tokens, width = 5, 3, 4
    # Latent value = index of the image type (albedo 0, material 1, normal 2, photo 3) in every element.
    latents = torch.arange(4, dtype=torch.bfloat16).view(1, 4, 1, 1, 1).expand(count, 4, 16, 2, 2).clone()
    data = BaseData(maps=BASE_MAPS, latents=latents, embeds=torch.zeros(count, len(CAPTION_VARIANTS), tokens, width),
                    pooled=torch.zeros(count, len(CAPTION_VARIANTS), width),
                    empty_embeds=torch.zeros(tokens, width), empty_pooled=torch.zeros(width))
    drawn = []

    def fake_flow_target(x0, noise):
        drawn.append(x0[:, 0, 0, 0].round().long())
        return noise - x0

    monkeypatch.setattr(base_training, "flow_target", fake_flow_target)
    monkeypatch.setattr(base_training, "predict_velocity", lambda transformer, x_t, *_: x_t * transformer.weight)
    model = torch.nn.Linear(1, 1, bias=False)
    train_base(model, data, BaseTrainingConfig(max_steps=30, batch_size=40, maps=maps), torch.device("cpu"),
               log=lambda _: None)
    counts = torch.bincount(torch.cat(drawn), minlength=4)
    wanted = torch.tensor([name in maps for name in BASE_MAPS])
    assert torch.all((counts > 0) == wanted)
    assert counts[wanted].min() > 0.8 * counts.sum() / len(maps)


def test_base_maps_parsing_orders_names_and_rejects_bad_lists():
    from intrinsix.training.demo.base_training import parse_base_maps

    assert parse_base_maps("normal, albedo") == ("albedo", "normal")
    assert parse_base_maps("photo,albedo") == ("albedo", "photo")
    assert parse_base_maps(("material",)) == ("material",)
    for bad in ("", "albedo,foo", "albedo,albedo", ()):
        with pytest.raises(ValueError,
                           match=r"--base-maps\) must be distinct names out of albedo, material, normal, photo"):
            parse_base_maps(bad)


def test_base_training_refuses_image_types_the_data_lacks():
    from intrinsix.training.demo.base_training import BaseData, BaseTrainingConfig, train_base

    data = BaseData(maps=("albedo",), latents=torch.zeros(2, 1, 16, 2, 2), embeds=torch.zeros(2, 3, 3, 4),
                    pooled=torch.zeros(2, 3, 4), empty_embeds=torch.zeros(3, 4), empty_pooled=torch.zeros(4))
    with pytest.raises(ValueError, match="the base data has no photo latents"):
        train_base(torch.nn.Linear(1, 1), data, BaseTrainingConfig(max_steps=1, maps=("albedo", "photo")),
                   torch.device("cpu"), log=lambda _: None)


def test_photo_lights_stay_in_their_latitude_band():
    import math

    from intrinsix.training.demo.photos import PHOTO_LATITUDE_DEG, photo_lights

    lights = photo_lights(2000, torch.Generator().manual_seed(0))
    assert lights.shape == (2000, 1, 3)
    assert torch.allclose(lights.norm(dim=-1), torch.ones(2000, 1), atol=1e-6)
    latitude = torch.rad2deg(torch.acos(lights[:, 0, 2]))
    low, high = PHOTO_LATITUDE_DEG
    assert float(latitude.min()) >= low - 1e-3 and float(latitude.max()) <= high + 1e-3
    assert float(latitude.min()) < low + 2 and float(latitude.max()) > high - 2
    turn = torch.atan2(lights[:, 0, 1], lights[:, 0, 0])  # all around the normal
    assert float(turn.min()) < -0.9 * math.pi and float(turn.max()) > 0.9 * math.pi


def test_photos_show_the_relief_a_black_albedo_hides_and_are_seamless():
    """A uniformly black, bumpy material: its albedo has no texture, its photo does (the grain a base
    on photos can learn); a flat one photographs uniform; a rolled material gives the rolled photo."""
    from intrinsix.training.demo.photos import render_photos

    size = 32
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    slope = 0.08 * torch.stack([torch.sin(2 * torch.pi * x / 8), torch.cos(2 * torch.pi * y / 8)], dim=-1)
    bumpy = torch.nn.functional.normalize(torch.cat([slope, torch.ones(size, size, 1)], dim=-1), dim=-1)
    flat = torch.zeros(size, size, 3)
    flat[..., 2] = 1.0
    albedo = torch.full((2, size, size, 3), 0.012)  # linear black
    material = torch.zeros(2, size, size, 3)
    material[..., 0] = 0.6  # matte dielectric
    normal = torch.stack([bumpy, flat])
    photos = render_photos(albedo, material, normal, torch.Generator().manual_seed(3))
    assert photos.shape == (2, size, size, 3) and photos.dtype == torch.float32
    assert float(photos.min()) >= 0.0 and float(photos.max()) <= 1.0
    assert float(photos[1].std()) < 1e-6  # flat: every pixel the same (orthographic view)
    assert float(photos[0].std()) > 0.03 * float(photos[0].mean()) > 0  # bumpy: the relief shows (7 % here)
    rolled = render_photos(albedo, material, normal.roll(5, dims=2), torch.Generator().manual_seed(3))
    assert torch.allclose(rolled, photos.roll(5, dims=2), atol=1e-6)


def test_decoder_only_vae_training_keeps_the_encoder_and_fits_the_decoder_at_full_size():
    """`decoder_only` (what `train demo-decoder` runs): the encoder, and so every latent a transformer
    learnt, stays bit for bit; the decoder alone learns, on whole materials, and its loss falls."""
    from intrinsix.training.demo.architecture import TINY, make_vae

    size = 32
    bank = _random_bank(size, count=4)
    torch.manual_seed(0)
    vae = make_vae(TINY, 0)
    encoder_before = {k: v.clone() for k, v in vae.encoder.state_dict().items()}
    decoder_before = {k: v.clone() for k, v in vae.decoder.state_dict().items()}
    config = VAETrainingConfig(max_steps=40, batch_size=4, crop=size, lr=3e-3, warmup_steps=1, latent_noise=0.0,
                               decoder_only=True)
    history = train_vae(vae, bank, config, torch.device("cpu"), log=lambda _: None)
    assert all(torch.equal(encoder_before[k], v) for k, v in vae.encoder.state_dict().items())
    assert any(not torch.equal(decoder_before[k], v) for k, v in vae.decoder.state_dict().items())
    first = sum(row["loss"] for row in history[:5]) / 5
    last = sum(row["loss"] for row in history[-5:]) / 5
    assert last < 0.8 * first, (first, last)
    assert not any(p.requires_grad for p in vae.parameters())  # handed back frozen, as train_vae does


def test_decoder_training_decodes_that_share_of_steps_with_wrap_around_padding():
    """`wraparound_fraction` (the decoder stage's, for `--tileable`): that share of the steps decode with
    circular padding, the rest with zeros; the VAE is handed back with zero padding; the encoder never wraps."""
    from intrinsix.generator.tiling import vae_wraparound_enabled
    from intrinsix.training.demo.architecture import TINY, make_vae

    vae = make_vae(TINY, 0)
    modes = {"decoder": [], "encoder": []}
    vae.decoder.conv_in.register_forward_pre_hook(
        lambda module, _: modes["decoder"].append(vae.decoder.conv_in.padding_mode))
    vae.encoder.conv_in.register_forward_pre_hook(
        lambda module, _: modes["encoder"].append(vae.encoder.conv_in.padding_mode))
    config = VAETrainingConfig(max_steps=40, batch_size=1, crop=16, warmup_steps=1, decoder_only=True,
                               wraparound_fraction=0.5)
    train_vae(vae, _random_bank(16, count=2), config, torch.device("cpu"), log=lambda _: None)
    assert len(modes["decoder"]) == 40 and set(modes["encoder"]) == {"zeros"}
    assert 10 <= modes["decoder"].count("circular") <= 30
    assert not vae_wraparound_enabled(vae)
    with pytest.raises(ValueError, match="wraparound_fraction needs decoder_only"):
        VAETrainingConfig(wraparound_fraction=0.5)
    with pytest.raises(ValueError, match="wraparound_fraction must be in \\[0, 1\\], got 1.5"):
        VAETrainingConfig(decoder_only=True, wraparound_fraction=1.5)
