"""AdamW, the learning-rate schedule and gradient clipping."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed (CI does not install it; see examples/cs336/README.md)"
)

from optim import AdamW, clip_grad_norm, lr_at, parameter_groups  # noqa: E402


def test_schedule_warms_up_linearly_then_follows_a_cosine_to_min_lr() -> None:
    lrs = [lr_at(t, 1.0, 0.1, 7, 21) for t in range(26)]
    assert lrs[:8] == pytest.approx([t / 7 for t in range(7)] + [1.0])
    assert lrs[14] == pytest.approx(0.1 + 0.5 * (1 + math.cos(math.pi * 0.5)) * 0.9)
    assert all(a > b for a, b in zip(lrs[7:21], lrs[8:22]))
    assert lrs[21:] == pytest.approx([0.1] * 5)


def test_schedule_without_warmup_starts_at_max_lr() -> None:
    assert lr_at(0, 3e-3, 3e-4, 0, 100) == pytest.approx(3e-3)
    assert lr_at(100, 3e-3, 3e-4, 0, 100) == pytest.approx(3e-4)


def test_adamw_without_decay_matches_torch_adamw() -> None:
    torch.manual_seed(0)
    a = torch.nn.Linear(5, 3)
    b = torch.nn.Linear(5, 3)
    b.load_state_dict(a.state_dict())
    ours = AdamW(a.parameters(), lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    ref = torch.optim.AdamW(b.parameters(), lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    for _ in range(20):
        x = torch.randn(8, 5)
        for model, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_adamw_decay_is_decoupled_and_applied_after_the_adam_step() -> None:
    p = torch.nn.Parameter(torch.tensor([2.0, -4.0]))
    opt = AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = torch.zeros(2)  # no Adam step: only the decay moves the weights
    opt.step()
    torch.testing.assert_close(p.detach(), torch.tensor([2.0, -4.0]) * (1 - 0.1 * 0.5))
    p.grad = torch.tensor([1.0, 1.0])
    before = p.detach().clone()
    opt.step()  # t = 2: Adam step of lr·sqrt(1-β2²)/(1-β1²)·m/(sqrt(v)+ε), then decay
    m, v = 1 - 0.9, 1 - 0.999  # the first (zero) gradient left both moments at 0
    step = 0.1 * math.sqrt(1 - 0.999**2) / (1 - 0.9**2) * m / (math.sqrt(v) + 1e-8)
    torch.testing.assert_close(p.detach(), (before - step) * (1 - 0.1 * 0.5))


def test_parameter_groups_exempt_gains_from_weight_decay() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(4, 4, bias=True))
    decay, no_decay = parameter_groups(model, 0.1)
    assert [p.shape for p in decay["params"]] == [torch.Size([4, 4])]
    assert [p.shape for p in no_decay["params"]] == [torch.Size([4])]
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.1, 0.0)


def _params_with_grads(*grads: list) -> list:
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(len(g)))
        p.grad = torch.tensor(g)
        params.append(p)
    return params


def test_clipping_scales_to_max_norm_and_returns_the_norm_before() -> None:
    params = _params_with_grads([3.0, 0.0], [0.0, 4.0])
    assert clip_grad_norm(params, 1.0).item() == pytest.approx(5.0)
    total = math.sqrt(sum(p.grad.pow(2).sum().item() for p in params))
    assert total == pytest.approx(1.0, rel=1e-4)
    assert params[0].grad[0].item() == pytest.approx(0.6, rel=1e-4)


def test_clipping_leaves_small_gradients_alone() -> None:
    params = _params_with_grads([0.3, 0.4])
    assert clip_grad_norm(params, 1.0).item() == pytest.approx(0.5)
    torch.testing.assert_close(params[0].grad, torch.tensor([0.3, 0.4]))
