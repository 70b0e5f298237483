"""A decoder-only Transformer language model, written out as in CS336 assignment 1.

Pre-norm blocks: ``x + MHA(RMSNorm(x))`` then ``x + SwiGLU(RMSNorm(x))``;
causal multi-head self-attention with rotary position embeddings (RoPE);
a final RMSNorm and a linear head, optionally tied to the token embeddings.

The assignment's ablations are switches of the config (the first is the
baseline): ``norm`` ``pre`` | ``post`` (``RMSNorm(x + MHA(x))`` then
``RMSNorm(z + FFN(z))``; the final RMSNorm stays) | ``none`` (no RMSNorm
anywhere); ``position`` ``rope`` | ``none`` (NoPE: attention sees no
positions, only the causal mask); ``ffn`` ``swiglu`` | ``silu``
(``W2 SiLU(W1 x)``, no gate).

Only ``nn.Module``, ``nn.Parameter`` and tensor operations are used: no
``nn.Linear``, ``nn.Embedding``, ``nn.MultiheadAttention`` or
``nn.Transformer``.

Shapes: ``B`` batch, ``T`` sequence, ``D`` d_model, ``H`` heads, ``K`` head
dimension (D / H), ``V`` vocabulary.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn

from config import TrainConfig


def _trunc_normal(shape: tuple[int, ...], std: float) -> Tensor:
    """Weights from N(0, std²) truncated at ±3 std (the assignment's init)."""
    w = torch.empty(shape)
    nn.init.trunc_normal_(w, mean=0.0, std=std, a=-3.0 * std, b=3.0 * std)
    return w


class Linear(nn.Module):
    """``y = x Wᵀ`` without bias; W is (out, in), initialised with std
    sqrt(2 / (in + out))."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        std = math.sqrt(2.0 / (in_features + out_features))
        self.weight = nn.Parameter(_trunc_normal((out_features, in_features), std))

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.weight.T


class Embedding(nn.Module):
    """A lookup table of ``num_embeddings`` vectors, initialised N(0, 1)
    truncated at ±3."""

    def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(_trunc_normal((num_embeddings, embedding_dim), 1.0))

    def forward(self, token_ids: Tensor) -> Tensor:
        return self.weight[token_ids]


class RMSNorm(nn.Module):
    """``x / sqrt(mean(x²) + eps) * g``, computed in float32 and returned in
    the input's dtype."""

    def __init__(self, d_model: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))

    def forward(self, x: Tensor) -> Tensor:
        dtype = x.dtype
        x = x.float()
        rms = torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return (x / rms * self.weight).to(dtype)


class SwiGLU(nn.Module):
    """The gated feed-forward ``W2 (SiLU(W1 x) ⊙ W3 x)``."""

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.w1 = Linear(d_model, d_ff)
        self.w2 = Linear(d_ff, d_model)
        self.w3 = Linear(d_model, d_ff)

    def forward(self, x: Tensor) -> Tensor:
        gate = self.w1(x)
        return self.w2(gate * torch.sigmoid(gate) * self.w3(x))


class SiLUFeedForward(nn.Module):
    """The ungated feed-forward ``W2 SiLU(W1 x)`` of the SwiGLU ablation: two
    matrices instead of three, so ``d_ff`` = 4 · d_model gives it SwiGLU's
    parameter count at 8/3 · d_model."""

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.w1 = Linear(d_model, d_ff)
        self.w2 = Linear(d_ff, d_model)

    def forward(self, x: Tensor) -> Tensor:
        hidden = self.w1(x)
        return self.w2(hidden * torch.sigmoid(hidden))


class RotaryEmbedding(nn.Module):
    """Rotates each pair of dimensions (2i, 2i+1) of a query or key at
    position p by the angle ``p · θ^(-2i/K)``.

    The cosines and sines for positions up to ``max_seq_len`` are computed
    once and kept as non-persistent buffers (not in checkpoints).
    """

    cos: Tensor
    sin: Tensor

    def __init__(self, theta: float, d_k: int, max_seq_len: int) -> None:
        super().__init__()
        if d_k % 2 != 0:
            raise ValueError(f"RoPE needs an even dimension, got {d_k}")
        inv_freq = theta ** (-torch.arange(0, d_k, 2, dtype=torch.float64) / d_k)  # (K/2,)
        angles = torch.arange(max_seq_len, dtype=torch.float64)[:, None] * inv_freq[None, :]  # (T_max, K/2)
        self.register_buffer("cos", angles.cos().float(), persistent=False)
        self.register_buffer("sin", angles.sin().float(), persistent=False)

    def forward(self, x: Tensor, token_positions: Tensor) -> Tensor:
        """Rotate ``x`` of shape (..., T, K) at ``token_positions`` of shape (..., T)."""
        cos = self.cos[token_positions].to(x.dtype)  # (..., T, K/2)
        sin = self.sin[token_positions].to(x.dtype)
        even, odd = x[..., 0::2], x[..., 1::2]
        rotated = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)
        return rotated.flatten(-2)


def softmax(x: Tensor, dim: int) -> Tensor:
    """Numerically stable softmax: the maximum is subtracted first.

    Softmax does not change when a constant is subtracted, so the maximum
    needs no gradient; detaching it also avoids ``amax``'s backward, which
    torch.compile's CPU code gets wrong for bfloat16 (NaN gradients, PyTorch
    2.15).
    """
    shifted = x - x.amax(dim=dim, keepdim=True).detach()
    exp = shifted.exp()
    return exp / exp.sum(dim=dim, keepdim=True)


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor] = None) -> Tensor:
    """``softmax(q kᵀ / sqrt(K)) v`` over the last two dimensions; positions
    where ``mask`` is False get no weight. The softmax is computed in float32."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return softmax(scores.float(), dim=-1).to(v.dtype) @ v


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which each position attends to itself
    and to earlier positions only; RoPE is applied to queries and keys, unless
    ``rope`` is None (NoPE)."""

    def __init__(self, d_model: int, num_heads: int, rope: Optional[RotaryEmbedding]) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q_proj = Linear(d_model, d_model)
        self.k_proj = Linear(d_model, d_model)
        self.v_proj = Linear(d_model, d_model)
        self.output_proj = Linear(d_model, d_model)
        self.rope = rope

    def forward(self, x: Tensor, token_positions: Tensor) -> Tensor:
        b, t, d = x.shape
        h = self.num_heads

        def heads(y: Tensor) -> Tensor:  # (B, T, D) -> (B, H, T, K)
            return y.view(b, t, h, d // h).transpose(1, 2)

        q, k = heads(self.q_proj(x)), heads(self.k_proj(x))
        if self.rope is not None:
            q, k = self.rope(q, token_positions), self.rope(k, token_positions)
        v = heads(self.v_proj(x))
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        out = scaled_dot_product_attention(q, k, v, causal)  # (B, H, T, K)
        return self.output_proj(out.transpose(1, 2).reshape(b, t, d))


NORMS = ("pre", "post", "none")
FFNS = ("swiglu", "silu")


class TransformerBlock(nn.Module):
    """Attention then feed-forward, each with a residual. ``norm`` places the
    RMSNorms: ``pre`` on each sublayer's input (the baseline), ``post`` on the
    sum after each residual add, ``none`` nowhere (``ln1``/``ln2`` are then
    None and the block has no norm parameters)."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, rope: Optional[RotaryEmbedding],
                 norm: str = "pre", ffn: str = "swiglu") -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm {norm!r}: want one of {', '.join(NORMS)}")
        if ffn not in FFNS:
            raise ValueError(f"ffn {ffn!r}: want one of {', '.join(FFNS)}")
        self.norm = norm
        # The same modules in the same order as before the switches existed:
        # the baseline keeps its parameter names and, for a seed, its weights.
        self.ln1 = RMSNorm(d_model) if norm != "none" else None
        self.attn = CausalSelfAttention(d_model, num_heads, rope)
        self.ln2 = RMSNorm(d_model) if norm != "none" else None
        self.ffn: nn.Module = SwiGLU(d_model, d_ff) if ffn == "swiglu" else SiLUFeedForward(d_model, d_ff)

    def forward(self, x: Tensor, token_positions: Tensor) -> Tensor:
        if self.ln1 is None or self.ln2 is None:
            x = x + self.attn(x, token_positions)
            return x + self.ffn(x)
        if self.norm == "post":
            x = self.ln1(x + self.attn(x, token_positions))
            return self.ln2(x + self.ffn(x))
        x = x + self.attn(self.ln1(x), token_positions)
        return x + self.ffn(self.ln2(x))


class TransformerLM(nn.Module):
    """Token embeddings, ``num_layers`` blocks, a final RMSNorm and the
    output head; ``forward`` returns logits of shape (B, T, V).

    With ``tie_embeddings`` the head reuses the embedding matrix, which is
    then initialised like a Linear layer (std sqrt(2 / (V + D))) rather than
    N(0, 1), so that the first logits stay small.

    ``norm``, ``position`` and ``ffn`` are the ablation switches (see the
    module's doc); with ``norm`` ``none`` there is no final RMSNorm either
    (``ln_final`` is None), with ``position`` ``none`` no RoPE and
    ``rope_theta`` is unused.
    """

    def __init__(self, vocab_size: int, context_length: int, d_model: int, num_layers: int, num_heads: int,
                 d_ff: int, rope_theta: float, tie_embeddings: bool = False, norm: str = "pre",
                 position: str = "rope", ffn: str = "swiglu") -> None:
        super().__init__()
        if position not in ("rope", "none"):
            raise ValueError(f"position {position!r}: want rope or none")
        self.context_length = context_length
        self.token_embeddings = Embedding(vocab_size, d_model)
        rope = RotaryEmbedding(rope_theta, d_model // num_heads, context_length) if position == "rope" else None
        self.layers = nn.ModuleList(TransformerBlock(d_model, num_heads, d_ff, rope, norm, ffn)
                                    for _ in range(num_layers))
        self.ln_final = RMSNorm(d_model) if norm != "none" else None
        self.lm_head: Optional[Linear] = None
        if tie_embeddings:
            std = math.sqrt(2.0 / (vocab_size + d_model))
            self.token_embeddings.weight = nn.Parameter(_trunc_normal((vocab_size, d_model), std))
        else:
            self.lm_head = Linear(d_model, vocab_size)

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> "TransformerLM":
        return cls(cfg.vocab_size, cfg.context_length, cfg.d_model, cfg.num_layers, cfg.num_heads, cfg.d_ff,
                   cfg.rope_theta, cfg.tie_embeddings, norm=cfg.norm, position=cfg.position, ffn=cfg.ffn)

    def forward(self, token_ids: Tensor) -> Tensor:
        t = token_ids.shape[-1]
        if t > self.context_length:
            raise ValueError(f"sequence of {t} tokens exceeds context_length {self.context_length}")
        positions = torch.arange(t, device=token_ids.device)
        x = self.token_embeddings(token_ids)
        for layer in self.layers:
            x = layer(x, positions)
        if self.ln_final is not None:
            x = self.ln_final(x)
        if self.lm_head is None:
            return x @ self.token_embeddings.weight.T
        return self.lm_head(x)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean of ``-log softmax(logits)[target]`` over all positions, computed
    in float32 via log-sum-exp."""
    logits = logits.float().reshape(-1, logits.shape[-1])
    targets = targets.reshape(-1)
    log_z = torch.logsumexp(logits, dim=-1)
    target_logits = logits.gather(1, targets[:, None]).squeeze(1)
    return (log_z - target_logits).mean()
