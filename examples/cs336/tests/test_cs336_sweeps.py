"""The sweep files in sweeps/: every key they set is a config field and every
run they describe has a valid config. They need PyYAML (skipped without it);
the parameter counts need PyTorch as well."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from config import TrainConfig

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")

EXAMPLE = Path(__file__).resolve().parents[1]
REPO = EXAMPLE.parents[1]
SWEEPS = EXAMPLE / "sweeps"


def load(name: str) -> Dict[str, Any]:
    with open(SWEEPS / name, encoding="utf-8") as f:
        sweep = yaml.safe_load(f)
    assert isinstance(sweep, dict)
    return sweep


def runs(sweep: Dict[str, Any]) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """Each run of a grid sweep as (variant name, config): the base config,
    then the parameters (``value`` fixed, ``values`` a grid axis), then the
    variant's ``set``, then the seed."""
    with open(SWEEPS / sweep["config"], encoding="utf-8") as f:
        base = json.load(f)
    params = sweep.get("parameters", {})
    names = sorted(params)
    axes = [params[n]["values"] if "values" in params[n] else [params[n]["value"]] for n in names]
    variants = sweep.get("variants") or [{"name": "", "set": {}}]
    for combo in itertools.product(*axes):
        for variant in variants:
            for seed in sweep.get("seeds", [base["seed"]]):
                yield variant["name"], {**base, **dict(zip(names, combo)), **variant["set"], "seed": seed}


@pytest.mark.parametrize("name", ["lr.yaml", "ablations.yaml"])
def test_sweep_files_set_only_config_fields(name: str) -> None:
    sweep = load(name)
    assert sweep["method"] == "grid"
    assert sweep["metric"] == {"name": "val_loss", "goal": "minimize"}
    assert sweep["command"] == ["python", "examples/cs336/train.py"]
    # runlog sweep reads the base config relative to the sweep file; the
    # command runs in the directory runlog sweep is started in, the repository's root
    assert (SWEEPS / sweep["config"]).resolve() == EXAMPLE / "configs" / "cpu_tiny.json"
    assert (REPO / sweep["command"][1]).is_file()
    fields = set(TrainConfig.__dataclass_fields__)
    keys = set(sweep.get("parameters", {}))
    for variant in sweep.get("variants", []):
        keys |= set(variant["set"])
    assert keys <= fields, f"not config fields: {sorted(keys - fields)}"
    assert "seed" in fields
    for spec in sweep.get("parameters", {}).values():
        assert set(spec) in ({"value"}, {"values"}), spec


@pytest.mark.parametrize("name", ["lr.yaml", "ablations.yaml"])
def test_every_run_of_a_sweep_has_a_valid_config(name: str) -> None:
    configs = [TrainConfig.from_dict(cfg) for _, cfg in runs(load(name))]
    assert configs
    for cfg in configs:
        assert cfg.device == "cpu" and cfg.num_threads == 1, "two runs at a time on two cores"
        assert cfg.checkpoint_interval == cfg.max_steps, "one checkpoint a run"
        # small enough for a 2-core CPU: cpu_tiny's model and length
        assert (cfg.d_model, cfg.num_layers, cfg.max_steps) == (96, 3, 600)


def test_lr_sweep_is_six_log_spaced_rates_times_three_seeds() -> None:
    sweep = load("lr.yaml")
    lrs = sweep["parameters"]["lr"]["values"]
    assert all(isinstance(lr, float) for lr in lrs), "1e-4 without a dot is a string to YAML 1.1"
    assert len(lrs) == 6 and lrs == sorted(lrs)
    steps = [math.log10(b / a) for a, b in zip(lrs, lrs[1:])]
    assert all(0.4 < s < 0.6 for s in steps), steps  # half a decade apart: 1, 3, 10, 30, ...
    assert sweep["seeds"] == [0, 1, 2]
    configs = [cfg for _, cfg in runs(sweep)]
    assert len(configs) == 18
    assert len({(c["lr"], c["seed"]) for c in configs}) == 18


def test_ablation_sweep_is_five_variants_times_two_seeds() -> None:
    sweep = load("ablations.yaml")
    names = [v["name"] for v in sweep["variants"]]
    assert names == ["baseline", "post-norm", "no-norm", "nope", "silu"]
    assert sweep["seeds"] == [0, 1]
    configs: Dict[str, List[TrainConfig]] = {}
    for variant, cfg in runs(sweep):
        configs.setdefault(variant, []).append(TrainConfig.from_dict(cfg))
    assert all(len(c) == 2 for c in configs.values()) and len(configs) == 5
    switches = {name: (c[0].norm, c[0].position, c[0].ffn) for name, c in configs.items()}
    assert switches == {
        "baseline": ("pre", "rope", "swiglu"),
        "post-norm": ("post", "rope", "swiglu"),
        "no-norm": ("none", "rope", "swiglu"),
        "nope": ("pre", "none", "swiglu"),
        "silu": ("pre", "rope", "silu"),
    }
    base, silu = configs["baseline"][0], configs["silu"][0]
    # the assignment's matched width: 4·d_model for SiLU, 8/3·d_model for SwiGLU
    assert silu.d_ff == 4 * silu.d_model and base.d_ff == 8 * base.d_model // 3
    assert 2 * silu.d_model * silu.d_ff == 3 * base.d_model * base.d_ff


def test_ablation_variants_parameter_counts() -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    from model import TransformerLM

    counts = {}
    for variant, cfg in runs(load("ablations.yaml")):
        torch.manual_seed(0)
        counts[variant] = TransformerLM.from_config(TrainConfig.from_dict(cfg)).num_parameters()
    d, layers = 96, 3
    assert counts == {"baseline": 381_600, "post-norm": 381_600, "no-norm": 381_600 - (2 * layers + 1) * d,
                      "nope": 381_600, "silu": 381_600}
