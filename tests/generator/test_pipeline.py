"""IntrinsiXPipeline on tiny random components: outputs, seeds, shift, prompts, callback, true CFG,
conditioning hooks and input errors."""

import inspect

import numpy as np
import pytest
import torch

from intrinsix.generator import BranchCondition, IntrinsiXPipeline, make_tiny_pipeline, timestep_shift_mu


@pytest.fixture(scope="module")
def pipe():
    pipe = make_tiny_pipeline(0)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run(pipe, seed=0, **kwargs):
    kwargs.setdefault("prompt", "a red brick wall")
    kwargs.setdefault("height", 64)
    kwargs.setdefault("width", 64)
    kwargs.setdefault("num_inference_steps", 2)
    return pipe(generator=torch.Generator().manual_seed(seed), **kwargs)


class Recorder:
    """Forward pre-hook on the transformer: keeps the inputs of every call."""

    def __init__(self, transformer):
        self.calls = []
        self.handle = transformer.register_forward_pre_hook(self.hook, with_kwargs=True)

    def hook(self, module, args, kwargs):
        self.calls.append({k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()})

    def close(self):
        self.handle.remove()


def test_outputs_shapes_ranges_and_units(pipe):
    out = run(pipe, height=64, width=96, num_images_per_prompt=2)
    for name in ("albedo", "material", "normal"):
        image = getattr(out, name)
        assert image.shape == (2, 64, 96, 3) and image.dtype == torch.float32 and image.device.type == "cpu"
    assert 0 <= float(out.albedo.min()) and float(out.albedo.max()) <= 1
    assert 0 <= float(out.material.min()) and float(out.material.max()) <= 1
    torch.testing.assert_close(out.normal.norm(dim=-1), torch.ones(2, 64, 96), rtol=0, atol=1e-5)
    assert out.latents.shape == (2, 3, 16, 8, 12)
    # The decoded normal is normalize(2 * img - 1) of the decoded branch-2 image.
    raw = pipe.vae.decode(out.latents[:, 2] / pipe.vae.config.scaling_factor + pipe.vae.config.shift_factor).sample
    raw = (2 * ((raw + 1) / 2).clamp(0, 1) - 1).permute(0, 2, 3, 1)
    torch.testing.assert_close(out.normal, torch.nn.functional.normalize(raw, dim=-1), rtol=1e-4, atol=1e-4)


def test_seed_reproducible_and_per_branch_noise(pipe):
    a, b, c = run(pipe, seed=5), run(pipe, seed=5), run(pipe, seed=6)
    assert torch.equal(a.albedo, b.albedo) and torch.equal(a.latents, b.latents)
    assert not torch.equal(a.latents, c.latents)
    noise = pipe.prepare_latents(1, 64, 64, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert noise.shape == (3, 16, 8, 8)
    assert not torch.equal(noise[0], noise[1]) and not torch.equal(noise[1], noise[2])


def test_defaults_and_dynamic_shift(pipe):
    params = inspect.signature(IntrinsiXPipeline.__call__).parameters
    assert params["num_inference_steps"].default == 28 and params["guidance_scale"].default == 3.5
    assert params["true_cfg_scale"].default == 1.0
    assert timestep_shift_mu(1024) == pytest.approx(0.63, abs=0.005)
    recorder = Recorder(pipe.transformer)
    try:
        run(pipe, height=512, width=512, num_inference_steps=3, output_type="latent")
    finally:
        recorder.close()
    # 512x512 -> 1024 tokens per branch -> mu = 0.63: sigma' = e^mu / (e^mu + 1/sigma - 1)
    sigmas = np.linspace(1.0, 1 / 3, 3)
    expected = np.exp(timestep_shift_mu(1024)) / (np.exp(timestep_shift_mu(1024)) + 1 / sigmas - 1)
    got = [float(call["timestep"][0]) for call in recorder.calls]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert float(recorder.calls[0]["guidance"][0]) == 3.5
    assert recorder.calls[0]["hidden_states"].shape == (3, 1024, 64)


def test_shared_and_per_branch_prompts(pipe):
    recorder = Recorder(pipe.transformer)
    try:
        shared = run(pipe)
        per_branch = run(pipe, prompt=["red brick albedo", "rough stone material", "bumpy normals"])
    finally:
        recorder.close()
    text = recorder.calls[0]["encoder_hidden_states"]
    assert text.shape == (3, 32, 32)
    assert torch.equal(text[0], text[1]) and torch.equal(text[1], text[2])  # one shared embedding
    text = recorder.calls[-1]["encoder_hidden_states"]
    assert not torch.equal(text[0], text[1])
    assert not torch.equal(shared.latents, per_branch.latents)
    embeds, pooled = pipe.encode_prompt(["a", "b", "c"])
    assert embeds.shape == (3, 32, 32) and pooled.shape == (3, 32)


def test_prompt_embeds_give_the_same_result(pipe):
    embeds, pooled = pipe.encode_prompt("a red brick wall")
    a = run(pipe)
    b = run(pipe, prompt=None, prompt_embeds=embeds, pooled_prompt_embeds=pooled)
    assert torch.equal(a.latents, b.latents)


def test_callback_sees_every_step_and_can_replace_latents(pipe):
    seen = []

    def callback(p, step, timestep, kwargs):
        seen.append((step, float(timestep), tuple(kwargs["latents"].shape)))
        if step == 2:
            return {"latents": torch.zeros_like(kwargs["latents"])}
        return {}

    out = run(pipe, num_inference_steps=3, callback_on_step_end=callback, output_type="latent")
    assert [s[0] for s in seen] == [0, 1, 2] and all(s[2] == (3, 16, 8, 8) for s in seen)
    assert seen[0][1] > seen[1][1] > seen[2][1]
    assert float(out.latents.abs().max()) == 0.0 and out.albedo is None

    def stop(p, step, timestep, kwargs):
        p._interrupt = True
        return {}

    seen.clear()
    recorder = Recorder(pipe.transformer)
    try:
        run(pipe, num_inference_steps=4, callback_on_step_end=stop, output_type="latent")
    finally:
        recorder.close()
    assert len(recorder.calls) == 1


def test_true_cfg_off_by_default_and_mixes_when_on(pipe):
    plain = run(pipe, output_type="latent")
    same = run(pipe, negative_prompt="blurry", output_type="latent")  # true_cfg_scale 1: ignored
    assert torch.equal(plain.latents, same.latents)
    recorder = Recorder(pipe.transformer)
    try:
        cfg = run(pipe, negative_prompt="blurry", true_cfg_scale=2.0, output_type="latent")
    finally:
        recorder.close()
    assert recorder.calls[0]["hidden_states"].shape[0] == 6  # cond + negative triples in one batch
    assert not torch.equal(plain.latents, cfg.latents)
    with pytest.raises(ValueError, match="negative_prompt"):
        run(pipe, true_cfg_scale=2.0)


def test_cross_conditioning_holds_branch_at_timestep_zero(pipe):
    clean = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(9))
    free = run(pipe, output_type="latent")
    recorder = Recorder(pipe.transformer)
    try:
        out = run(pipe, conditioning={"normal": BranchCondition("cross", latents=clean)}, output_type="latent")
    finally:
        recorder.close()
    assert torch.equal(out.latents[0, 2], clean[0])
    for call in recorder.calls:
        assert float(call["timestep"][2]) == 0.0 and float(call["timestep"][0]) > 0.0
        # The transformer always sees the clean normal latent (packed tokens of branch 2).
        from intrinsix.generator import pack_latents
        torch.testing.assert_close(call["hidden_states"][2], pack_latents(clean)[0], rtol=0, atol=0)
    assert not torch.allclose(out.latents[0, 0], free.latents[0, 0])  # albedo reacts to the condition


def test_repaint_renoises_to_current_sigma_inside_mask(pipe):
    clean = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(3))
    mask = torch.zeros(1, 8, 8)
    mask[:, :, :4] = 1.0  # left half known (latent-resolution mask)
    noise = pipe.prepare_latents(1, 64, 64, torch.Generator().manual_seed(0), torch.device("cpu"))
    recorder = Recorder(pipe.transformer)
    try:
        out = run(pipe, num_inference_steps=3, output_type="latent",
                  conditioning={"albedo": BranchCondition("repaint", latents=clean, mask=mask)})
    finally:
        recorder.close()
    from intrinsix.generator import unpack_latents
    for call in recorder.calls:
        sigma = float(call["timestep"][0])
        seen = unpack_latents(call["hidden_states"][0:1], 8, 8)[0]
        expected = (1 - sigma) * clean[0] + sigma * noise[0]
        torch.testing.assert_close(seen[:, :, :4], expected[:, :, :4], rtol=1e-5, atol=1e-5)
    assert torch.equal(out.latents[0, 0, :, :, :4], clean[0, :, :, :4])  # known half exact at the end
    assert not torch.allclose(out.latents[0, 0, :, :, 4:], clean[0, :, :, 4:])  # free half generated


def test_image_conditioning_is_vae_encoded(pipe):
    normal = torch.nn.functional.normalize(torch.randn(1, 64, 64, 3, generator=torch.Generator().manual_seed(2)), dim=-1)
    out = run(pipe, conditioning={2: BranchCondition("cross", image=normal)}, output_type="latent")
    torch.testing.assert_close(out.latents[0, 2], pipe.encode_image("normal", normal)[0], rtol=1e-5, atol=1e-5)


def test_input_errors_name_the_argument(pipe):
    with pytest.raises(ValueError, match="height must be a positive multiple of 16 pixels, got 72"):
        run(pipe, height=72)
    with pytest.raises(ValueError, match="width must be a positive multiple of 16"):
        run(pipe, width=0)
    with pytest.raises(ValueError, match="list of 3 strings"):
        run(pipe, prompt=["a", "b"])
    with pytest.raises(ValueError, match="at most 2 of the 3 branches"):
        z = torch.zeros(1, 16, 8, 8)
        run(pipe, conditioning={b: BranchCondition("cross", latents=z) for b in ("albedo", "material", "normal")})
    with pytest.raises(ValueError, match="mask is only supported in mode 'repaint'"):
        BranchCondition("cross", latents=torch.zeros(1, 16, 8, 8), mask=torch.ones(1, 8, 8))
    with pytest.raises(ValueError, match="mode must be one of"):
        BranchCondition("inpaint", latents=torch.zeros(1, 16, 8, 8))
    with pytest.raises(ValueError, match=r"latents must have shape \[N or 1, 16, 8, 8\]"):
        run(pipe, conditioning={"albedo": BranchCondition("cross", latents=torch.zeros(1, 16, 4, 4))})
    with pytest.raises(ValueError, match="num_inference_steps must be an integer >= 1, got 0"):
        run(pipe, num_inference_steps=0)
    with pytest.raises(ValueError, match="output_type must be 'pt' or 'latent'"):
        run(pipe, output_type="pil")
