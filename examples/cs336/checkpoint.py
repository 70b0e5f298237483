"""Checkpoints: model, optimizer, step, config and random-number state in one file.

A checkpoint at step N holds the state after N updates. Restoring it and
training on gives the same batches, and so the same losses, as a run that
never stopped (on the same device and PyTorch version).
"""

from __future__ import annotations

import os
from typing import Any, Dict

import numpy as np
import torch
from torch import nn


def save_checkpoint(path: str, model: nn.Module, optimizer: torch.optim.Optimizer, step: int,
                    config: Dict[str, Any], rng: np.random.Generator) -> None:
    """Write the checkpoint atomically: to a temporary file, then renamed, so
    that a run killed mid-save never leaves a truncated checkpoint."""
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": step,
        "config": config,
        "rng": {
            "numpy": rng.bit_generator.state,
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_checkpoint(path: str) -> Dict[str, Any]:
    """Load a checkpoint's contents onto the CPU (tensors and plain values
    only: ``weights_only`` loading)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def restore_checkpoint(state: Dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer,
                       rng: np.random.Generator) -> int:
    """Put a checkpoint's state into the model, the optimizer and the random
    generators; return its step."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])  # moves the moments to the parameters' device
    rng.bit_generator.state = state["rng"]["numpy"]
    torch.set_rng_state(state["rng"]["torch"])
    if state["rng"]["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return int(state["step"])
