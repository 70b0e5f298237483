"""The model's parts: RMSNorm, RoPE, attention (shapes and causality), SwiGLU, the LM and its loss."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed (CI does not install it; see examples/cs336/README.md)"
)

from model import (  # noqa: E402
    CausalSelfAttention,
    Linear,
    RMSNorm,
    RotaryEmbedding,
    SwiGLU,
    TransformerLM,
    cross_entropy,
    scaled_dot_product_attention,
    softmax,
)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def small_lm(tie: bool = False) -> TransformerLM:
    return TransformerLM(vocab_size=50, context_length=16, d_model=32, num_layers=2, num_heads=4, d_ff=64,
                         rope_theta=10000.0, tie_embeddings=tie)


def test_rmsnorm_matches_its_formula_and_keeps_dtype() -> None:
    norm = RMSNorm(8)
    with torch.no_grad():
        norm.weight.copy_(torch.arange(1.0, 9.0))
    x = torch.randn(2, 3, 8)
    expected = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * torch.arange(1.0, 9.0)
    torch.testing.assert_close(norm(x), expected)
    assert norm(x.bfloat16()).dtype == torch.bfloat16


def test_rmsnorm_output_has_unit_rms() -> None:
    y = RMSNorm(64)(torch.randn(4, 64) * 10)
    torch.testing.assert_close(y.pow(2).mean(-1), torch.ones(4), atol=1e-3, rtol=0)


def test_rope_keeps_shape_and_norms_and_is_identity_at_position_0() -> None:
    rope = RotaryEmbedding(10000.0, 16, 32)
    x = torch.randn(2, 4, 10, 16)
    pos = torch.arange(10)
    y = rope(x, pos)
    assert y.shape == x.shape
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(y[..., 0, :], x[..., 0, :])


def test_rope_rotates_adjacent_pairs_by_position_times_frequency() -> None:
    theta, d = 100.0, 4
    rope = RotaryEmbedding(theta, d, 8)
    x = torch.tensor([1.0, 0.0, 1.0, 0.0])
    y = rope(x[None, :], torch.tensor([3]))[0]
    a0, a1 = 3 * theta ** (0 / d), 3 * theta ** (-2 / d)
    torch.testing.assert_close(y, torch.tensor([math.cos(a0), math.sin(a0), math.cos(a1), math.sin(a1)]))


def test_rope_scores_depend_only_on_relative_position() -> None:
    rope = RotaryEmbedding(10000.0, 8, 64)
    q, k = torch.randn(8), torch.randn(8)

    def score(m: int, n: int) -> torch.Tensor:
        return rope(q[None], torch.tensor([m]))[0] @ rope(k[None], torch.tensor([n]))[0]

    torch.testing.assert_close(score(5, 2), score(40, 37))
    torch.testing.assert_close(score(0, 9), score(20, 29))


def test_softmax_is_stable_for_large_inputs() -> None:
    x = torch.tensor([[1000.0, 1000.0, -1000.0]])
    torch.testing.assert_close(softmax(x, dim=-1), torch.tensor([[0.5, 0.5, 0.0]]))


def test_scaled_dot_product_attention_matches_reference_and_masks() -> None:
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 4)
    mask = torch.rand(5, 7) > 0.3
    mask[:, 0] = True
    out = scaled_dot_product_attention(q, k, v, mask)
    assert out.shape == (2, 3, 5, 4)
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, ref)


def test_attention_is_causal() -> None:
    attn = CausalSelfAttention(32, 4, RotaryEmbedding(10000.0, 8, 16))
    x = torch.randn(2, 10, 32)
    y = attn(x, torch.arange(10))
    assert y.shape == (2, 10, 32)
    x2 = x.clone()
    x2[:, 6:] = torch.randn(2, 4, 32)
    y2 = attn(x2, torch.arange(10))
    torch.testing.assert_close(y[:, :6], y2[:, :6])
    assert not torch.allclose(y[:, 6:], y2[:, 6:])


def test_lm_logits_are_causal() -> None:
    lm = small_lm()
    ids = torch.randint(0, 50, (3, 12))
    changed = ids.clone()
    changed[:, 8:] = (changed[:, 8:] + 1) % 50
    a, b = lm(ids), lm(changed)
    assert a.shape == (3, 12, 50)
    torch.testing.assert_close(a[:, :8], b[:, :8])
    assert not torch.allclose(a[:, 8:], b[:, 8:])


def test_lm_rejects_sequences_longer_than_the_context() -> None:
    with pytest.raises(ValueError, match="context_length"):
        small_lm()(torch.zeros(1, 17, dtype=torch.long))


def test_swiglu_and_linear_shapes() -> None:
    assert SwiGLU(32, 64)(torch.randn(2, 5, 32)).shape == (2, 5, 32)
    lin = Linear(32, 48)
    assert lin.weight.shape == (48, 32)
    assert lin(torch.randn(7, 32)).shape == (7, 48)
    std = math.sqrt(2 / (32 + 48))
    assert lin.weight.abs().max() <= 3 * std + 1e-6


def test_tied_head_shares_the_embedding_matrix() -> None:
    untied, tied = small_lm(), small_lm(tie=True)
    assert untied.num_parameters() - tied.num_parameters() == 50 * 32
    ids = torch.randint(0, 50, (1, 4))
    tied(ids).sum().backward()
    assert tied.token_embeddings.weight.grad is not None


def test_parameter_names_follow_the_assignment() -> None:
    names = set(dict(small_lm().named_parameters()))
    for name in ("token_embeddings.weight", "layers.0.ln1.weight", "layers.0.attn.q_proj.weight",
                 "layers.0.attn.output_proj.weight", "layers.1.ffn.w3.weight", "ln_final.weight",
                 "lm_head.weight"):
        assert name in names


def test_initial_loss_is_near_uniform() -> None:
    lm = small_lm()
    ids = torch.randint(0, 50, (4, 16))
    loss = cross_entropy(lm(ids[:, :-1]), ids[:, 1:])
    assert abs(loss.item() - math.log(50)) < 1.0


def test_cross_entropy_matches_torch() -> None:
    logits, targets = torch.randn(2, 6, 11) * 5, torch.randint(0, 11, (2, 6))
    ref = torch.nn.functional.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1))
    torch.testing.assert_close(cross_entropy(logits, targets), ref)
    torch.testing.assert_close(cross_entropy(logits.bfloat16(), targets), ref, atol=0.05, rtol=0)


def test_compiled_bfloat16_gradients_are_finite() -> None:
    """Regression: torch.compile on the CPU produced NaN gradients through the
    softmax's max under bfloat16 autocast (with a head dimension of 24, as
    cpu_tiny.json has) until the max was detached."""
    lm = TransformerLM(vocab_size=64, context_length=32, d_model=48, num_layers=1, num_heads=2, d_ff=64,
                       rope_theta=10000.0)
    ids = torch.randint(0, 64, (4, 33))
    try:
        compiled = torch.compile(lm)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = cross_entropy(compiled(ids[:, :-1]), ids[:, 1:])
    except Exception as e:  # no C++ compiler, or a platform torch.compile does not support
        pytest.skip(f"torch.compile is not usable here: {type(e).__name__}: {e}")
    loss.backward()
    for name, p in lm.named_parameters():
        assert torch.isfinite(p.grad).all(), name
