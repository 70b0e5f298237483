"""Config loading and overrides; these tests need neither PyTorch nor NumPy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import ARCHITECTURE_FIELDS, CHOICES, TrainConfig, field_default, load_config, parse_override

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
TINY = {"vocab_size": 256, "context_length": 16, "d_model": 16, "num_layers": 1, "num_heads": 2, "d_ff": 32,
        "warmup_steps": 2}


@pytest.mark.parametrize("name", ["cpu_tiny.json", "tinystories_17m_baseline.json"])
def test_shipped_configs_load_and_name_every_field(name: str) -> None:
    data = json.loads((CONFIGS / name).read_text())
    names = set(TrainConfig.__dataclass_fields__)
    assert set(data) == names, "a shipped config lists every field, so that it documents them all"
    for field in ("vocab_size", "context_length", "d_model", "num_layers", "num_heads", "d_ff", "batch_size",
                  "max_steps", "lr"):
        assert field in data  # what `runlog doctor --config` checks
    TrainConfig.from_dict(data)


def test_baseline_is_the_assignments_model() -> None:
    cfg = TrainConfig.from_dict(json.loads((CONFIGS / "tinystories_17m_baseline.json").read_text()))
    assert (cfg.vocab_size, cfg.context_length, cfg.d_model, cfg.num_layers, cfg.num_heads, cfg.d_ff) == (
        10000, 256, 512, 4, 16, 1344)
    assert cfg.rope_theta == 10000.0
    assert cfg.max_steps * cfg.tokens_per_step == 327_680_000


@pytest.mark.parametrize("text, key, value", [
    ("lr=3e-4", "lr", 3e-4),
    ("max_steps=900", "max_steps", 900),
    ("tie_embeddings=true", "tie_embeddings", True),
    ("train_path=null", "train_path", None),
    ("device=cuda:1", "device", "cuda:1"),
    ("train_path=data/train.bin", "train_path", "data/train.bin"),
])
def test_overrides_are_typed_like_runlog_run_set(text: str, key: str, value: object) -> None:
    assert parse_override(text) == (key, value)


def test_override_without_equals_is_an_error() -> None:
    with pytest.raises(ValueError, match="key=value"):
        parse_override("lr")


def test_config_from_runlog_config_then_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**TINY, "lr": 0.01, "max_steps": 10}))
    monkeypatch.setenv("RUNLOG_CONFIG", str(path))
    cfg = load_config(None, ["max_steps=20", "lr=1"])
    assert (cfg.max_steps, cfg.lr) == (20, 1.0)
    assert isinstance(cfg.lr, float)


def test_explicit_config_wins_over_runlog_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.json").write_text(json.dumps({**TINY, "max_steps": 1}))
    (tmp_path / "b.json").write_text(json.dumps({**TINY, "max_steps": 2}))
    monkeypatch.setenv("RUNLOG_CONFIG", str(tmp_path / "a.json"))
    assert load_config(str(tmp_path / "b.json")).max_steps == 2


def test_fallback_config_is_used_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNLOG_CONFIG", raising=False)
    assert load_config(None, ["max_steps=7"], fallback={**TINY, "max_steps": 3}).max_steps == 7
    with pytest.raises(ValueError, match="no config"):
        load_config(None)


@pytest.mark.parametrize("bad, message", [
    ({"learning_rate": 0.1}, "unknown keys learning_rate"),
    ({"lr": "fast"}, "lr must be float"),
    ({"max_steps": 1.5}, "max_steps must be int"),
    ({"num_heads": 3}, "not divisible"),
    ({"min_lr": 1.0, "lr": 0.1}, "min_lr"),
    ({"train_path": "x.bin"}, "both train_path and valid_path"),
    ({"vocab_size": 10000}, "byte-level"),
    ({"warmup_steps": 100, "max_steps": 50}, "warmup"),
    ({"dtype": "float16"}, "dtype 'float16': want one of float32, bfloat16"),
    ({"norm": "layernorm"}, "norm 'layernorm': want one of pre, post, none"),
    ({"norm": "Pre"}, "norm 'Pre': want one of pre, post, none"),
    ({"norm": None}, "norm must be str"),
    ({"position": "alibi"}, "position 'alibi': want one of rope, none"),
    ({"position": False}, "position must be str"),
    ({"ffn": "gelu"}, "ffn 'gelu': want one of swiglu, silu"),
    ({"num_heads": 4, "d_model": 12}, "RoPE needs an even head dimension"),
])
def test_invalid_configs_are_rejected(bad: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict({**TINY, **bad})


def test_cosine_defaults_to_max_steps() -> None:
    assert TrainConfig.from_dict({**TINY, "max_steps": 50}).decay_steps == 50
    assert TrainConfig.from_dict({**TINY, "max_steps": 50, "cosine_steps": 40}).decay_steps == 40


def test_ablation_switches_default_to_the_baseline() -> None:
    cfg = TrainConfig.from_dict(TINY)
    assert (cfg.norm, cfg.position, cfg.ffn) == ("pre", "rope", "swiglu")
    assert {name: values[0] for name, values in CHOICES.items() if name != "dtype"} == {
        "norm": "pre", "position": "rope", "ffn": "swiglu"}
    assert [field_default(k) for k in ("norm", "position", "ffn", "d_model")] == ["pre", "rope", "swiglu", None]


@pytest.mark.parametrize("key, values", [("norm", ["pre", "post", "none"]), ("position", ["rope", "none"]),
                                         ("ffn", ["swiglu", "silu"])])
def test_every_ablation_value_is_accepted_and_overridable(key: str, values: list) -> None:
    for value in values:
        assert getattr(TrainConfig.from_dict({**TINY, key: value}), key) == value
        assert getattr(load_config(None, [f"{key}={value}"], fallback=TINY), key) == value


def test_ablation_switches_are_architecture_fields() -> None:
    # a checkpoint of a post-norm model must not load into a pre-norm one
    assert {"norm", "position", "ffn"} <= set(ARCHITECTURE_FIELDS)


def test_nope_allows_an_odd_head_dimension() -> None:
    cfg = TrainConfig.from_dict({**TINY, "d_model": 12, "num_heads": 4, "position": "none"})
    assert cfg.d_model // cfg.num_heads == 3


def test_the_sweep_entry_runlog_sweep_adds_is_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # what `runlog sweep` hands a member in $RUNLOG_CONFIG: the config with sweep: {name, member}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**TINY, "norm": "post", "seed": 1, "sweep": {"name": "cs336-ablations", "member": 3}}))
    monkeypatch.setenv("RUNLOG_CONFIG", str(path))
    cfg = load_config(None)
    assert (cfg.norm, cfg.seed) == ("post", 1)
    assert "sweep" not in cfg.to_dict()
    with pytest.raises(ValueError, match="unknown keys sweep"):
        TrainConfig.from_dict({**TINY, "sweep": {}})  # only loading drops it
