"""The model's parts: RMSNorm, RoPE, attention (shapes and causality), SwiGLU, the LM and its loss."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed (CI does not install it; see examples/cs336/README.md)"
)

from model import (  # noqa: E402
    CausalSelfAttention,
    Linear,
    RMSNorm,
    RotaryEmbedding,
    SiLUFeedForward,
    SwiGLU,
    TransformerLM,
    cross_entropy,
    scaled_dot_product_attention,
    softmax,
)
from config import TrainConfig  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def small_lm(tie: bool = False, **switches: str) -> TransformerLM:
    return TransformerLM(vocab_size=50, context_length=16, d_model=32, num_layers=2, num_heads=4, d_ff=64,
                         rope_theta=10000.0, tie_embeddings=tie, **switches)


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


# The assignment's ablations: norm pre | post | none, position rope | none, ffn swiglu | silu.

VARIANTS = [{}, {"norm": "post"}, {"norm": "none"}, {"position": "none"}, {"ffn": "silu"},
            {"norm": "none", "position": "none", "ffn": "silu"}]


def test_default_model_is_unchanged_by_the_switches() -> None:
    """The baseline keeps the parameters it had before the switches existed:
    the same names in the same order, the same count (cpu_tiny: 381,600, as
    its README says) and the same initial weights for a seed."""
    names = ["token_embeddings.weight"]
    for i in range(2):
        names += [f"layers.{i}.{n}.weight" for n in ("ln1", "attn.q_proj", "attn.k_proj", "attn.v_proj",
                                                     "attn.output_proj", "ln2", "ffn.w1", "ffn.w2", "ffn.w3")]
    names += ["ln_final.weight", "lm_head.weight"]
    lm = small_lm()
    assert [n for n, _ in lm.named_parameters()] == names
    assert lm.num_parameters() == 50 * 32 * 2 + 2 * (2 * 32 + 4 * 32 * 32 + 3 * 32 * 64) + 32
    assert set(lm.state_dict()) == set(names), "RoPE's tables stay out of checkpoints"
    torch.manual_seed(5)
    a = small_lm().state_dict()
    torch.manual_seed(5)
    b = small_lm(norm="pre", position="rope", ffn="swiglu").state_dict()
    assert all(torch.equal(a[n], b[n]) for n in names)

    cfg = TrainConfig.from_dict(json.loads((CONFIGS / "cpu_tiny.json").read_text()))
    assert TransformerLM.from_config(cfg).num_parameters() == 381_600


@pytest.mark.parametrize("switches", VARIANTS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "baseline")
def test_every_variant_has_the_lm_shapes_and_is_causal(switches: dict) -> None:
    lm = small_lm(**switches)
    ids = torch.randint(0, 50, (3, 12))
    changed = ids.clone()
    changed[:, 8:] = (changed[:, 8:] + 1) % 50
    a, b = lm(ids), lm(changed)
    assert a.shape == (3, 12, 50)
    torch.testing.assert_close(a[:, :8], b[:, :8])
    assert not torch.allclose(a[:, 8:], b[:, 8:])
    cross_entropy(a[:, :-1], ids[:, 1:]).backward()
    for name, p in lm.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_parameter_count_of_each_switch() -> None:
    d, layers, d_ff = 32, 2, 64
    base = small_lm().num_parameters()
    assert small_lm(norm="post").num_parameters() == base
    assert small_lm(position="none").num_parameters() == base
    assert small_lm(norm="none").num_parameters() == base - (2 * layers + 1) * d  # ln1, ln2 per block, ln_final
    assert small_lm(ffn="silu").num_parameters() == base - layers * d * d_ff  # no w3
    names = set(dict(small_lm(norm="none", ffn="silu").named_parameters()))
    assert not [n for n in names if "ln" in n or "w3" in n]
    assert set(dict(small_lm(norm="post").named_parameters())) == set(dict(small_lm().named_parameters()))


def test_silu_at_4_d_model_matches_swiglu_at_8_thirds() -> None:
    """The assignment's parameter-matched widths: d_ff = 4·d_model for SiLU,
    8/3·d_model for SwiGLU (cpu_tiny: 384 and 256)."""
    def lm(ffn: str, d_ff: int) -> TransformerLM:
        return TransformerLM(vocab_size=256, context_length=8, d_model=96, num_layers=3, num_heads=4, d_ff=d_ff,
                             rope_theta=10000.0, ffn=ffn)

    assert lm("silu", 384).num_parameters() == lm("swiglu", 256).num_parameters() == 381_600


def test_silu_feed_forward_is_w2_silu_w1() -> None:
    ffn = SiLUFeedForward(8, 32)
    assert sorted(dict(ffn.named_parameters())) == ["w1.weight", "w2.weight"]
    x = torch.randn(2, 3, 8)
    expected = torch.nn.functional.silu(x @ ffn.w1.weight.T) @ ffn.w2.weight.T
    torch.testing.assert_close(ffn(x), expected)


def test_post_norm_normalises_after_the_residual_and_differs_from_pre_norm() -> None:
    pre, post = small_lm(), small_lm(norm="post")
    post.load_state_dict(pre.state_dict())  # the same weights: only the placement differs
    ids = torch.randint(0, 50, (2, 10))
    assert not torch.allclose(pre(ids), post(ids))

    block = post.layers[0]
    x = torch.randn(2, 10, 32) * 7
    y = block(x, torch.arange(10))
    # the gains are 1 at init, so the block's output has unit RMS at every position
    torch.testing.assert_close(y.pow(2).mean(-1), torch.ones(2, 10), atol=1e-3, rtol=0)
    z = block.ln1(x + block.attn(x, torch.arange(10)))
    torch.testing.assert_close(y, block.ln2(z + block.ffn(z)))


def test_no_norm_removes_every_rmsnorm_and_differs_from_pre_norm() -> None:
    pre, bare = small_lm(), small_lm(norm="none")
    assert not [m for m in bare.modules() if isinstance(m, RMSNorm)]
    assert bare.ln_final is None and bare.layers[0].ln1 is None
    missing, unexpected = bare.load_state_dict(pre.state_dict(), strict=False)
    assert not missing and sorted(unexpected) == sorted(n for n in pre.state_dict() if ".ln" in n or "ln_" in n)
    ids = torch.randint(0, 50, (2, 10))
    assert not torch.allclose(pre(ids), bare(ids))
    block, x = bare.layers[0], torch.randn(2, 10, 32)
    h = x + block.attn(x, torch.arange(10))
    torch.testing.assert_close(block(x, torch.arange(10)), h + block.ffn(h))


def test_nope_attention_sees_the_set_of_earlier_tokens_not_their_order() -> None:
    """Without positions, the last position's attention output is a function
    of the set of tokens before it: permuting them changes nothing. With RoPE
    it does. (Causal masking still lets deeper NoPE models infer positions,
    so the whole-model check uses one layer.)"""
    t = 10
    perm = torch.cat([torch.randperm(t - 1), torch.tensor([t - 1])])
    x = torch.randn(2, t, 32)
    nope = CausalSelfAttention(32, 4, None)
    rope = CausalSelfAttention(32, 4, RotaryEmbedding(10000.0, 8, 16))
    rope.load_state_dict(nope.state_dict())
    pos = torch.arange(t)
    torch.testing.assert_close(nope(x, pos)[:, -1], nope(x[:, perm], pos)[:, -1])
    assert not torch.allclose(rope(x, pos)[:, -1], rope(x[:, perm], pos)[:, -1])

    lm = TransformerLM(vocab_size=50, context_length=16, d_model=32, num_layers=1, num_heads=4, d_ff=64,
                       rope_theta=10000.0, position="none")
    assert lm.layers[0].attn.rope is None
    ids = torch.randint(0, 50, (3, t))
    torch.testing.assert_close(lm(ids)[:, -1], lm(ids[:, perm])[:, -1])
    with_rope = TransformerLM(vocab_size=50, context_length=16, d_model=32, num_layers=1, num_heads=4, d_ff=64,
                              rope_theta=10000.0)
    with_rope.load_state_dict(lm.state_dict())
    assert not torch.allclose(with_rope(ids)[:, -1], with_rope(ids[:, perm])[:, -1])


@pytest.mark.parametrize("switches, message", [({"norm": "middle"}, "norm 'middle'"),
                                               ({"position": "alibi"}, "position 'alibi'"),
                                               ({"ffn": "gelu"}, "ffn 'gelu'")])
def test_unknown_switch_values_are_rejected(switches: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        small_lm(**switches)


def test_from_config_passes_the_switches() -> None:
    cfg = TrainConfig.from_dict({"vocab_size": 256, "context_length": 16, "d_model": 12, "num_layers": 1,
                                 "num_heads": 4, "d_ff": 48, "warmup_steps": 1, "norm": "post",
                                 "position": "none", "ffn": "silu"})
    lm = TransformerLM.from_config(cfg)
    assert lm.layers[0].norm == "post" and lm.layers[0].attn.rope is None
    assert isinstance(lm.layers[0].ffn, SiLUFeedForward)
    assert lm(torch.randint(0, 256, (1, 16))).shape == (1, 16, 256)  # head dimension 3: NoPE needs no even one
