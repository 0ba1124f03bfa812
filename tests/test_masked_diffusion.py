"""Masked diffusion for text (models/masked_diffusion.py), on tiny seeded GPT-2s built from configs:
the adaptation from an autoregressive model, the forward masking, the 1/t-weighted loss and LLaDA's
sampler's invariants, blocks and pinned values. (The shipped tiny-diffusion-lm: tests/test_text_diffusion.py.)"""

from __future__ import annotations

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from models.masked_diffusion import (
    ROW_BUCKET,
    adapt_from_autoregressive,
    denoiser_logits,
    diffusion_loss,
    mask_tokens,
    nll_bound,
    reads_both_ways,
    reveal_counts,
    sample,
)

V = 40


@pytest.fixture(scope="module")
def adapted():
    torch.manual_seed(0)
    ar = GPT2LMHeadModel(GPT2Config(vocab_size=V, n_positions=33, n_embd=32, n_layer=2, n_head=2, bos_token_id=0,
                                    eos_token_id=0)).eval()
    model, mask_id = adapt_from_autoregressive(ar)
    return ar, model.eval(), mask_id


def test_adaptation_adds_one_mask_token_and_keeps_the_weights(adapted):
    ar, model, mask_id = adapted
    assert mask_id == V and model.config.vocab_size == V + 1 and model.config.is_causal is False
    wte = model.transformer.wte.weight
    assert torch.equal(wte[:V], ar.transformer.wte.weight)
    assert torch.allclose(wte[V], ar.transformer.wte.weight.mean(0))
    assert torch.equal(model.transformer.h[0].mlp.c_fc.weight, ar.transformer.h[0].mlp.c_fc.weight)


def test_the_denoiser_reads_both_ways(adapted):
    _, model, mask_id = adapted
    a = torch.randint(1, V, (1, 12))
    b = a.clone()
    b[0, -1] = (b[0, -1] % (V - 1)) + 1
    la, lb = denoiser_logits(model, a, mask_id), denoiser_logits(model, b, mask_id)
    assert la.shape == (1, 12, V)  # no column for MASK
    assert not torch.allclose(la[0, 0], lb[0, 0])  # position 0 sees the last token: no causal mask
    assert reads_both_ways(model, mask_id)  # the training script's check before its first step


def test_the_check_catches_a_left_to_right_model(adapted):
    ar, _, _ = adapted
    assert not reads_both_ways(ar, V - 1)  # tiny-gpt's kind: position 0 never sees what follows


def test_masking_follows_t():
    x0 = torch.randint(0, V, (64, 200))
    g = torch.Generator().manual_seed(0)
    for t in (0.0, 0.3, 0.8, 1.0):
        xt, masked = mask_tokens(x0, torch.full((64,), t), V, g)
        assert abs(masked.float().mean().item() - t) < 0.02
        assert torch.equal(xt[masked], torch.full_like(xt[masked], V)) and torch.equal(xt[~masked], x0[~masked])


def test_the_loss_is_the_masked_cross_entropy_weighted_by_one_over_t(adapted):
    _, model, mask_id = adapted
    x0 = torch.randint(1, V, (4, 16))
    t = torch.tensor([0.25, 0.5, 0.75, 1.0])
    loss = diffusion_loss(model, x0, mask_id, torch.Generator().manual_seed(3), t=t)
    xt, masked = mask_tokens(x0, t, mask_id, torch.Generator().manual_seed(3))
    nll = torch.nn.functional.cross_entropy(denoiser_logits(model, xt, mask_id).transpose(1, 2), x0, reduction="none")
    manual = sum(float(nll[i][masked[i]].sum()) / float(t[i]) for i in range(4)) / (4 * 16)
    assert abs(float(loss) - manual) < 1e-4
    bound = nll_bound(model, x0, mask_id, samples=8)
    assert bound > 0 and torch.isfinite(torch.tensor(bound))


def test_the_output_head_sees_few_shapes_whatever_is_masked(adapted):
    """Under CPU bfloat16 autocast oneDNN keeps a kernel per matrix shape: a head called on each step's own
    number of masked tokens grew the training process by ~30 MB a step. Its row count is bucketed."""
    _, model, mask_id = adapted
    seen = []
    hook = model.lm_head.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape[0]))
    try:
        for k in range(6):
            diffusion_loss(model, torch.randint(1, V, (8, 32)), mask_id, torch.Generator().manual_seed(k))
    finally:
        hook.remove()
    assert len(seen) == 6 and all(n % ROW_BUCKET == 0 and n > 0 for n in seen)


def test_sampler_fills_masks_and_never_changes_a_shown_token(adapted):
    _, model, mask_id = adapted
    prompt = [3, 7, 11]
    u = sample(model, prompt, length=16, steps=5, mask_id=mask_id, seed=0)
    f = u.frames
    assert f.shape == (6, 19) and u.passes == 5
    assert f[0, :3].tolist() == prompt and (f[0, 3:] == mask_id).all()
    assert (f[-1] != mask_id).all()
    for s in range(1, 6):
        shown = f[s - 1] != mask_id
        assert torch.equal(f[s][shown], f[s - 1][shown])  # a shown token never changes
        assert int(((f[s - 1] == mask_id) & (f[s] != mask_id)).sum()) == reveal_counts(16, 5)[s - 1]
    assert (u.revealed_at[:3] == 0).all() and sorted(set(u.revealed_at[3:].tolist())) == [1, 2, 3, 4, 5]
    assert torch.equal(sample(model, prompt, 16, 5, mask_id, seed=0).frames, f)  # greedy: deterministic


def test_reveal_counts():
    assert reveal_counts(64, 16) == [4] * 16
    assert sum(reveal_counts(10, 4)) == 10 and reveal_counts(10, 4) == [3, 3, 2, 2]
    with pytest.raises(ValueError):
        sample(None, [1], 4, 5, V)


def test_block_schedule_writes_blocks_left_to_right():
    from models.masked_diffusion import block_schedule

    s = block_schedule(64, 16, 4)
    assert [b for b, _ in s] == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4 and sum(k for _, k in s) == 64
    assert block_schedule(10, 5, 1) == [(0, 2)] * 5
    with pytest.raises(ValueError):
        block_schedule(64, 16, 3)  # 3 does not divide 16


def test_sampler_with_blocks_finishes_each_block_before_the_next(adapted):
    _, model, mask_id = adapted
    u = sample(model, [3, 7], length=12, steps=6, mask_id=mask_id, seed=1, temperature=1.0, blocks=2)
    when = u.revealed_at[2:]
    assert when[:6].max() <= 3 < when[6:].min()  # block one in passes 1-3, block two in passes 4-6
    assert (u.frames[-1] != mask_id).all()


def test_sampler_and_bound_pinned_values(adapted):
    """Expected values on the tiny seeded model: a change to the sampler or the bound shows up here."""
    _, model, mask_id = adapted
    u = sample(model, [3, 7], 8, 4, mask_id, seed=5, temperature=1.0, blocks=2)
    assert u.frames[-1].tolist() == [3, 7, 26, 22, 25, 37, 11, 28, 24, 32]
    assert u.revealed_at.tolist() == [0, 0, 1, 1, 2, 2, 4, 3, 4, 3]
    assert torch.allclose(u.confidence[2:4], torch.tensor([0.0255, 0.0287]), atol=1e-4)
    windows = torch.randint(0, V, (3, 12), generator=torch.Generator().manual_seed(1))
    assert abs(nll_bound(model, windows, mask_id, samples=4) - 3.0015) < 1e-3


def test_random_remasking_keeps_the_invariants_and_differs_from_low_confidence(adapted):
    _, model, mask_id = adapted
    r = sample(model, [3, 7], length=12, steps=4, mask_id=mask_id, seed=2, temperature=1.0, remasking="random")
    c = sample(model, [3, 7], length=12, steps=4, mask_id=mask_id, seed=2, temperature=1.0)
    assert (r.frames[-1] != mask_id).all() and [int((r.revealed_at == s).sum()) for s in range(1, 5)] == [3] * 4
    assert not torch.equal(r.revealed_at, c.revealed_at)  # a different order of revealing
    with pytest.raises(ValueError, match="remasking"):
        sample(model, [3], 4, 2, mask_id, remasking="surest")
