"""Training end to end on a tiny config: the loss falls, checkpoints round-trip, resume continues exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed (CI does not install it; see examples/cs336/README.md)"
)
np = pytest.importorskip("numpy", reason="NumPy is not installed")

import runlog  # noqa: E402

import train  # noqa: E402
from checkpoint import read_checkpoint, restore_checkpoint, save_checkpoint  # noqa: E402
from config import TrainConfig  # noqa: E402
from data import generated_corpus, get_batch  # noqa: E402
from model import TransformerLM, cross_entropy  # noqa: E402
from optim import AdamW, parameter_groups  # noqa: E402

TINY = {
    "vocab_size": 256, "context_length": 32, "d_model": 32, "num_layers": 2, "num_heads": 2, "d_ff": 64,
    "batch_size": 8, "max_steps": 40, "lr": 1e-2, "min_lr": 1e-3, "warmup_steps": 5, "weight_decay": 0.1,
    "eval_interval": 10, "eval_batches": 2, "checkpoint_interval": 20, "generated_train_bytes": 20000,
    "generated_valid_bytes": 4000, "device": "cpu", "num_threads": 1,
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh runlog home, and none of the variables of an enclosing `runlog run`."""
    for name in ("RUNLOG_RUN_ID", "RUNLOG_CONFIG", "RUNLOG_CHECKPOINT", "RUNLOG_CHECKPOINT_STEP", "RUNLOG_RUN_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RUNLOG_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def write_config(path: Path, **overrides: object) -> str:
    path.write_text(json.dumps({**TINY, **overrides}))
    return str(path)


def only_run(home: Path) -> Path:
    (run_dir,) = (home / "runs").iterdir()
    return run_dir


def read_run(run_dir: Path) -> Tuple[Dict[str, List[Tuple[int, float]]], List[Tuple[str, object]]]:
    """Every metric point of every log in the run folder (key -> [(step, value)]) and the other records."""
    series: Dict[str, List[Tuple[int, float]]] = {}
    others: List[Tuple[str, object]] = []
    for log in sorted(run_dir.glob("*.log")):
        keys: Dict[int, str] = {}
        for rec in runlog.read_records(log.read_bytes()).records:
            if rec.type_name == "key":
                key_id, name = rec.key()
                keys[key_id] = name
            elif rec.type_name == "metrics":
                step, _, pairs = rec.metrics()
                for key_id, value in pairs:
                    series.setdefault(keys[key_id], []).append((step, value))
            elif rec.type_name != "heartbeat":
                others.append((rec.type_name, rec.json()))
    return series, others


def test_a_few_steps_of_training_reduce_the_loss(home: Path, tmp_path: Path) -> None:
    assert train.main(["--config", write_config(tmp_path / "c.json")]) == 0
    series, others = read_run(only_run(home))
    val = dict(series["val_loss"])
    assert sorted(val) == [0, 10, 20, 30, 40]
    assert val[40] < val[0] - 1.5, val
    assert [s for s, _ in series["train_loss"]] == list(range(1, 41))
    assert series["train_loss"][-1][1] < series["train_loss"][0][1] - 1.5
    assert all(v > 0 for _, v in series["tokens_per_sec"])
    assert dict(series["learning_rate"])[5] == pytest.approx(1e-2)
    ckpts = [json for kind, json in others if kind == "artifact"]
    assert [(c["path"], c["step"], c["kind"]) for c in ckpts] == [
        ("checkpoints/step_000020.pt", 20, "checkpoint"), ("checkpoints/step_000040.pt", 40, "checkpoint")]
    assert ckpts[1]["metadata"]["val_loss"] == pytest.approx(val[40])
    assert ("define", {"key": "val_loss", "goal": "minimize"}) in others
    summary: Dict[str, object] = {}
    for kind, payload in others:
        if kind == "summary":
            summary.update(payload)  # type: ignore[arg-type]
    assert summary["final_val_loss"] == pytest.approx(val[40])
    assert summary["tokens_seen"] == 40 * 8 * 32
    assert ("status", "finished") in [(k, p.get("status")) for k, p in others if isinstance(p, dict)]


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    cfg = TrainConfig.from_dict(TINY)
    device = torch.device("cpu")
    tokens = generated_corpus(5000, 0)

    def fresh() -> Tuple[TransformerLM, AdamW, "np.random.Generator"]:
        torch.manual_seed(123)
        model = TransformerLM.from_config(cfg)
        return model, AdamW(parameter_groups(model, 0.1), lr=1e-2), np.random.default_rng(7)

    model, opt, rng = fresh()
    for _ in range(3):
        x, y = get_batch(tokens, 4, cfg.context_length, rng, device)
        cross_entropy(model(x), y).backward()
        opt.step()
        opt.zero_grad()
    path = str(tmp_path / "ckpt.pt")
    torch_rng = torch.get_rng_state()
    save_checkpoint(path, model, opt, 3, cfg.to_dict(), rng)

    model2, opt2, rng2 = fresh()
    torch.manual_seed(999)
    state = read_checkpoint(path)
    assert restore_checkpoint(state, model2, opt2, rng2) == 3
    assert state["config"] == cfg.to_dict()
    restored = model2.state_dict()
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, restored[name]), name
    for p, q in zip(model.parameters(), model2.parameters()):
        a, b = opt.state[p], opt2.state[q]
        assert a["step"] == b["step"] == 3
        assert torch.equal(a["exp_avg"], b["exp_avg"]) and torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])
    assert torch.equal(torch.get_rng_state(), torch_rng)
    xa, _ = get_batch(tokens, 4, cfg.context_length, rng, device)
    xb, _ = get_batch(tokens, 4, cfg.context_length, rng2, device)
    assert torch.equal(xa, xb)
    assert not list(tmp_path.glob("*.tmp-*"))


def test_resume_from_a_checkpoint_continues_the_same_run_exactly(home: Path, tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path / "c.json")
    assert train.main(["--config", cfg_path]) == 0
    run_dir = only_run(home)
    straight, _ = read_run(run_dir)

    ckpt = run_dir / "checkpoints" / "step_000020.pt"
    assert train.main(["--resume", str(ckpt)]) == 0  # the config comes from the checkpoint
    assert only_run(home) == run_dir, "resuming a run's checkpoint continues that run"
    series, others = read_run(run_dir)
    assert ("rewind", 20) in [(k, p.get("step")) for k, p in others if isinstance(p, dict)]
    resumed = series["train_loss"][len(straight["train_loss"]):]
    assert [s for s, _ in resumed] == list(range(21, 41))
    assert [v for _, v in resumed] == pytest.approx([v for s, v in straight["train_loss"] if s > 20], rel=1e-4)

    first = read_checkpoint(str(run_dir / "checkpoints" / "step_000040.pt"))
    again = read_checkpoint(str(run_dir / "checkpoints" / "step_000040-2.pt"))
    for name, tensor in first["model"].items():
        torch.testing.assert_close(again["model"][name], tensor, rtol=1e-4, atol=1e-5)


def test_resume_under_runlog_run_reads_the_environment(home: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert train.main(["--config", write_config(tmp_path / "c.json", max_steps=20)]) == 0
    run_dir = only_run(home)
    # What `runlog run --resume RUN -- python train.py --set max_steps=30` hands the program.
    monkeypatch.setenv("RUNLOG_RUN_ID", run_dir.name)
    monkeypatch.setenv("RUNLOG_CONFIG", str(run_dir / "config.json"))
    monkeypatch.setenv("RUNLOG_CHECKPOINT", str(run_dir / "checkpoints" / "step_000020.pt"))
    monkeypatch.setenv("RUNLOG_CHECKPOINT_STEP", "20")
    assert train.main(["--set", "max_steps=30"]) == 0

    assert len(list(run_dir.glob("run.py-*.log"))) == 1, "the client attached to the runner's run"
    series, others = read_run(run_dir)
    assert [s for s, _ in series["train_loss"]][20:] == list(range(21, 31))
    assert not [k for k, _ in others if k == "rewind"], "the runner records the rewind, not the program"
    assert (run_dir / "checkpoints" / "step_000030.pt").exists()


def test_resume_refuses_a_checkpoint_of_another_model(home: Path, tmp_path: Path) -> None:
    assert train.main(["--config", write_config(tmp_path / "c.json", max_steps=20)]) == 0
    ckpt = only_run(home) / "checkpoints" / "step_000020.pt"
    with pytest.raises(ValueError, match="d_model: checkpoint 32, config 64"):
        train.main(["--resume", str(ckpt), "--set", "d_model=64"])


def test_resume_checks_the_step_the_runner_announced(home: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert train.main(["--config", write_config(tmp_path / "c.json", max_steps=20)]) == 0
    monkeypatch.setenv("RUNLOG_CHECKPOINT", str(only_run(home) / "checkpoints" / "step_000020.pt"))
    monkeypatch.setenv("RUNLOG_CHECKPOINT_STEP", "10")
    with pytest.raises(ValueError, match="RUNLOG_CHECKPOINT_STEP=10"):
        train.main([])


def test_a_diverging_loss_raises_an_alert_and_fails_the_run(home: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.json", lr=1e30, min_lr=1e30, warmup_steps=0, grad_clip=0.0, max_steps=20)
    assert train.main(["--config", cfg]) == 1
    _, others = read_run(only_run(home))
    alerts = [p for k, p in others if k == "event" and p.get("kind") == "alert"]
    assert alerts and alerts[0]["level"] == "error"
    assert [p["status"] for k, p in others if k == "status"] == ["failed"]


@pytest.mark.parametrize("switch", ["norm=post", "norm=none", "position=none", "ffn=silu"])
def test_each_ablation_trains_and_is_recorded_in_the_config(home: Path, tmp_path: Path, switch: str) -> None:
    cfg = write_config(tmp_path / "c.json", max_steps=20, checkpoint_interval=20)
    assert train.main(["--config", cfg, "--set", switch]) == 0
    run_dir = only_run(home)
    series, _ = read_run(run_dir)
    val = dict(series["val_loss"])
    assert val[20] < val[0] - 0.5, val
    key, value = switch.split("=")
    assert json.loads((run_dir / "config.json").read_text())[key] == value
    assert read_checkpoint(str(run_dir / "checkpoints" / "step_000020.pt"))["config"][key] == value


def test_resume_refuses_a_checkpoint_of_another_ablation(home: Path, tmp_path: Path) -> None:
    assert train.main(["--config", write_config(tmp_path / "c.json", max_steps=20, norm="post")]) == 0
    ckpt = only_run(home) / "checkpoints" / "step_000020.pt"
    with pytest.raises(ValueError, match="norm: checkpoint 'post', config 'pre'"):
        train.main(["--resume", str(ckpt), "--set", "norm=pre"])


def test_a_checkpoint_from_before_the_switches_is_the_baseline() -> None:
    cfg = TrainConfig.from_dict(TINY)
    old = {k: v for k, v in cfg.to_dict().items() if k not in ("norm", "position", "ffn")}
    train.check_same_architecture(cfg, old)
    with pytest.raises(ValueError, match="ffn: checkpoint 'swiglu', config 'silu'"):
        train.check_same_architecture(TrainConfig.from_dict({**TINY, "ffn": "silu"}), old)


def test_the_seed_fixes_weights_and_batches_and_changes_with_it(home: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    losses = []
    for i, seed in enumerate([0, 0, 1]):
        home_i = tmp_path / f"h{i}"
        cfg = write_config(tmp_path / f"c{i}.json", max_steps=5, eval_interval=5, checkpoint_interval=5, seed=seed)
        monkeypatch.setenv("RUNLOG_HOME", str(home_i))
        assert train.main(["--config", cfg]) == 0
        series, _ = read_run(only_run(home_i))
        losses.append([v for _, v in series["train_loss"]])
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]


def test_each_evaluation_logs_a_sample_and_histograms_of_gradient_norms(home: Path, tmp_path: Path) -> None:
    assert train.main(["--config", write_config(tmp_path / "c.json")]) == 0
    _, others = read_run(only_run(home))
    texts = [p for kind, p in others if kind == "text"]
    assert [(t["key"], t["step"]) for t in texts] == [("sample", s) for s in (0, 10, 20, 30, 40)]
    for t in texts:
        assert t["text"].startswith(train.SAMPLE_PROMPT)
        assert len(t["text"]) >= len(train.SAMPLE_PROMPT) + train.SAMPLE_BYTES // 3  # bytes, decoded as UTF-8
    hists: Dict[str, List[Tuple[int, float]]] = {}
    for kind, p in others:
        if kind == "histogram":
            hists.setdefault(p["key"], []).append((p["step"], sum(p["counts"])))
    assert sorted(hists) == ["grad_norm/layers.0", "grad_norm/layers.1", "grad_norm/lm_head", "grad_norm/ln_final",
                             "grad_norm/token_embeddings"]
    for key, points in hists.items():
        assert [s for s, _ in points] == [10, 20, 30, 40], key
    # One norm per output unit: a block has 2 × 32 gains, 4 × 32 attention and 64 + 32 + 64 feed-forward rows.
    assert {n for _, n in hists["grad_norm/layers.0"]} == {2 * 32 + 4 * 32 + 64 + 32 + 64}
    assert {n for _, n in hists["grad_norm/token_embeddings"]} == {256}


def test_the_samples_are_the_seed_s() -> None:
    cfg = TrainConfig.from_dict(TINY)
    torch.manual_seed(0)
    model = TransformerLM.from_config(cfg)
    a = train.sample_text(model, cfg, torch.device("cpu"), seed=7, n=30)
    assert a == train.sample_text(model, cfg, torch.device("cpu"), seed=7, n=30)
    assert a != train.sample_text(model, cfg, torch.device("cpu"), seed=8, n=30)
    assert a.startswith("Once upon a time")


def test_grad_norms_by_layer() -> None:
    cfg = TrainConfig.from_dict(TINY)
    model = TransformerLM.from_config(cfg)
    x = torch.randint(0, 256, (2, 8))
    cross_entropy(model(x), x).backward()
    norms = train.grad_norms_by_layer(model)
    assert sorted(norms) == ["layers.0", "layers.1", "lm_head", "ln_final", "token_embeddings"]
    want = torch.linalg.vector_norm(model.lm_head.weight.grad, dim=-1)
    assert torch.allclose(norms["lm_head"], want)
    assert torch.equal(norms["ln_final"], model.ln_final.weight.grad.abs())
