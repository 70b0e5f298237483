"""Training configuration: a flat dataclass read from JSON, with ``key=value`` overrides.

The JSON files in ``configs/`` name every field the model and the schedule
need; fields a file leaves out take the defaults below. Unknown keys are
errors, so a typo in a config or an override never passes silently.
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Mapping, Optional, Union

#: Fields that fix the shape of the parameters: a checkpoint only loads into
#: a model whose config agrees on all of them.
ARCHITECTURE_FIELDS = (
    "vocab_size",
    "context_length",
    "d_model",
    "num_layers",
    "num_heads",
    "d_ff",
    "tie_embeddings",
    "norm",
    "position",
    "ffn",
)

#: The ablation switches of the assignment and the values each takes; the
#: first value is the baseline.
CHOICES = {
    "norm": ("pre", "post", "none"),
    "position": ("rope", "none"),
    "ffn": ("swiglu", "silu"),
    "dtype": ("float32", "bfloat16"),
}

#: Keys runlog itself puts in a run's config, which are no training setting:
#: ``sweep`` ({name, member}) in each run of ``runlog sweep``. Loading leaves
#: them out; the runlog client keeps them in the run's config, since the
#: config the script records under ``runlog run`` updates the runner's.
RUNLOG_KEYS = ("sweep",)


@dataclass
class TrainConfig:
    """Every hyperparameter of a training run.

    Model: a decoder-only Transformer with ``num_layers`` pre-norm blocks of
    ``num_heads``-head causal attention (RoPE with base ``rope_theta``) and a
    SwiGLU feed-forward of width ``d_ff``. The assignment's ablations switch
    parts of it: ``norm`` ``post`` puts each RMSNorm after the residual add,
    ``none`` removes every RMSNorm; ``position`` ``none`` drops RoPE (NoPE);
    ``ffn`` ``silu`` replaces SwiGLU by ``W2 SiLU(W1 x)``, which at the same
    ``d_ff`` has two thirds of SwiGLU's weights: give it ``d_ff`` = 4 ·
    ``d_model`` where SwiGLU has 8/3 · ``d_model`` to match the count.

    Schedule: ``max_steps`` AdamW updates of ``batch_size`` sequences of
    ``context_length`` tokens; the learning rate rises linearly to ``lr`` over
    ``warmup_steps``, then follows a cosine down to ``min_lr`` at
    ``cosine_steps`` (``None``: ``max_steps``) and stays there.

    Data: ``train_path`` and ``valid_path`` name token files (``.bin`` raw
    uint16 or ``.npy``); when both are ``None`` a corpus of generated stories
    is tokenized to bytes (``vocab_size`` must then be 256).
    """

    # model
    vocab_size: int
    context_length: int
    d_model: int
    num_layers: int
    num_heads: int
    d_ff: int
    rope_theta: float = 10000.0
    tie_embeddings: bool = False
    norm: str = "pre"
    position: str = "rope"
    ffn: str = "swiglu"
    # optimisation
    batch_size: int = 32
    max_steps: int = 1000
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    cosine_steps: Optional[int] = None
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    grad_clip: float = 1.0
    # evaluation, logging, checkpoints
    eval_interval: int = 100
    eval_batches: int = 20
    log_interval: int = 1
    checkpoint_interval: int = 1000
    # data
    train_path: Optional[str] = None
    valid_path: Optional[str] = None
    generated_train_bytes: int = 400_000
    generated_valid_bytes: int = 40_000
    # execution
    seed: int = 0
    device: str = "auto"
    dtype: str = "float32"
    compile: bool = False
    num_threads: int = 0

    def __post_init__(self) -> None:
        self._coerce_types()
        self._validate()

    def _coerce_types(self) -> None:
        """Turn JSON numbers into the field's type (``3`` for a float field,
        ``1e4`` for an int field holding a whole number) and reject values of
        the wrong type (``--set lr=fast``)."""
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = hints[f.name]
            if typing.get_origin(kind) is Union:
                if value is None:
                    continue
                kind = next(a for a in typing.get_args(kind) if a is not type(None))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            elif kind is int and isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
                raise ValueError(f"config: {f.name} must be {kind.__name__}, not {value!r}")
            setattr(self, f.name, value)

    def _validate(self) -> None:
        positive = ("vocab_size", "context_length", "d_model", "num_layers", "num_heads", "d_ff",
                    "batch_size", "max_steps", "eval_interval", "eval_batches", "log_interval",
                    "checkpoint_interval")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"config: {name} must be a positive integer, not {value!r}")
        if self.d_model % self.num_heads != 0:
            raise ValueError(f"config: d_model {self.d_model} is not divisible by num_heads {self.num_heads}")
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"config: {name} {getattr(self, name)!r}: want one of {', '.join(allowed)}")
        if self.position == "rope" and (self.d_model // self.num_heads) % 2 != 0:
            raise ValueError("config: RoPE needs an even head dimension (d_model / num_heads)")
        if not 0.0 <= self.min_lr <= self.lr:
            raise ValueError(f"config: want 0 <= min_lr <= lr, got min_lr={self.min_lr}, lr={self.lr}")
        if self.warmup_steps < 0:
            raise ValueError("config: warmup_steps must be >= 0")
        if self.decay_steps < self.warmup_steps:
            raise ValueError(f"config: the warmup ({self.warmup_steps} steps) is longer than the schedule "
                             f"(cosine_steps, else max_steps: {self.decay_steps})")
        if (self.train_path is None) != (self.valid_path is None):
            raise ValueError("config: give both train_path and valid_path, or neither (generated corpus)")
        if self.train_path is None and self.vocab_size != 256:
            raise ValueError("config: the generated corpus is byte-level: vocab_size must be 256")

    @property
    def decay_steps(self) -> int:
        """The step where the cosine reaches ``min_lr``."""
        return self.max_steps if self.cosine_steps is None else self.cosine_steps

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.context_length

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        """Build a config, rejecting keys that are not fields."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"config: unknown keys {', '.join(unknown)}")
        return cls(**dict(data))


def field_default(name: str) -> Any:
    """The default of a field of ``TrainConfig`` (None for a required one)."""
    f = TrainConfig.__dataclass_fields__[name]
    return None if f.default is dataclasses.MISSING else f.default


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key=value`` and type the value as JSON reads it (``3e-4``,
    ``12``, ``true``, ``null``), else keep it as a string — as ``runlog run
    --set`` does."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"--set {text!r}: want key=value")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def load_config(path: Optional[str], overrides: Iterable[str] = (),
                fallback: Optional[Mapping[str, Any]] = None) -> TrainConfig:
    """Read the config from ``path``, else ``$RUNLOG_CONFIG`` (set by ``runlog
    run``), else ``fallback`` (the config stored in a checkpoint), leave out
    runlog's own keys (``RUNLOG_KEYS``) and apply the ``key=value``
    overrides."""
    source = path or os.environ.get("RUNLOG_CONFIG") or None
    if source is not None:
        with open(source, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError(f"config {source}: not a JSON object")
    elif fallback is not None:
        data = dict(fallback)
    else:
        raise ValueError("no config: pass --config PATH (or run under `runlog run --config PATH`)")
    for key in RUNLOG_KEYS:
        data.pop(key, None)
    for text in overrides:
        key, value = parse_override(text)
        data[key] = value
    return TrainConfig.from_dict(data)
