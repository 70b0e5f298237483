"""AdamW, the warmup-then-cosine learning-rate schedule and gradient clipping."""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import torch
from torch import Tensor, nn


class AdamW(torch.optim.Optimizer):
    """Adam with bias correction and decoupled weight decay (Loshchilov &
    Hutter, 2019), as Algorithm 2 of the assignment writes it::

        m ← β1 m + (1 − β1) g
        v ← β2 v + (1 − β2) g²
        θ ← θ − lr · sqrt(1 − β2ᵗ) / (1 − β1ᵗ) · m / (sqrt(v) + ε)
        θ ← θ − lr · λ θ

    Each parameter group may set its own ``weight_decay``.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:
        if lr < 0:
            raise ValueError(f"invalid learning rate {lr}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"invalid betas {betas}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:  # type: ignore[override]
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(p.grad, alpha=1.0 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1.0 - beta2)
                step_size = lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
                p.addcdiv_(m, v.sqrt().add_(eps), value=-step_size)
                if decay:
                    p.mul_(1.0 - lr * decay)
        return loss


def parameter_groups(model: nn.Module, weight_decay: float) -> List[Dict[str, Any]]:
    """Weight decay for matrices (linear layers, embeddings); none for the
    RMSNorm gains."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_at(step: int, max_lr: float, min_lr: float, warmup_steps: int, cosine_steps: int) -> float:
    """The learning rate of update ``step`` (counted from 1).

    Linear warmup ``max_lr · step / warmup_steps`` while ``step <
    warmup_steps``; then a cosine from ``max_lr`` at ``warmup_steps`` down to
    ``min_lr`` at ``cosine_steps``; ``min_lr`` after that.
    """
    if step < warmup_steps:
        return max_lr * step / warmup_steps
    if step >= cosine_steps:
        return min_lr
    progress = (step - warmup_steps) / (cosine_steps - warmup_steps)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_lr - min_lr)


@torch.no_grad()
def clip_grad_norm(parameters: Iterable[nn.Parameter], max_norm: float, eps: float = 1e-6) -> Tensor:
    """Scale all gradients together so that their global L2 norm is at most
    ``max_norm`` (``<= 0``: no clipping); return the norm before clipping as a
    0-d tensor, without waiting for the device."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))
    if max_norm > 0:
        scale = (max_norm / (norm + eps)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.dtype))
    return norm
