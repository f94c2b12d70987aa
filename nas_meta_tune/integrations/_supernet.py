"""What the supernet trainable (Ray Tune) and objective (Optuna) share: one training run of a
NAS-Bench-Graph supernet or split-tree leaf, advanced an iteration at a time, with a fixed probe set
of architectures whose inherited-weight validation accuracy tracks it (no framework imported here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

STRATEGIES = ("spos", "darts")


class SupernetRun:
    """A supernet (``strategy`` ``"spos"`` or ``"darts"``), optionally restricted to one leaf's
    ``op_choices``, and its probe architectures (drawn from ``seed``)."""

    def __init__(
        self,
        dataset: Any,
        *,
        strategy: str = "spos",
        op_choices: Sequence[Sequence[str]] | None = None,
        hidden: int = 64,
        lr: float = 0.005,
        arch_lr: float = 3e-4,
        seed: int = 0,
        probe_archs: int = 16,
        device: Any = None,
        data_root: Any = None,
    ) -> None:
        from ..oneshot import build_supernet

        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, but got {strategy=}.")
        if strategy == "darts" and op_choices is not None:
            raise ValueError("a split-tree leaf (op_choices) is trained with SPOS, not DARTS.")
        if probe_archs < 1:
            raise ValueError(f"probe_archs must be >= 1, but got {probe_archs=}.")
        trainer = build_supernet(
            dataset,
            hidden=int(hidden),
            lr=float(lr),
            seed=int(seed),
            device=device,
            data_root=data_root,
            strategy=strategy,
            arch_lr=float(arch_lr),
        )
        if op_choices is not None:
            trainer = trainer.spawn(op_choices, inherit=False, seed=int(seed))
        self.trainer = trainer
        self.strategy = strategy
        rng = np.random.default_rng(int(seed))
        self.probe = [trainer.supernet.sample_arch(rng) for _ in range(int(probe_archs))]

    def iteration(self, steps: int) -> dict[str, Any]:
        """``steps`` training steps; the metrics of the iteration."""
        losses = self.trainer.train(int(steps))
        accs = self.trainer.rank(self.probe, "acc")  # inherited-weight validation accuracy
        out = {
            "loss": float(np.mean(losses)) if losses else float("nan"),
            "probe_valid_acc": float(np.mean(accs)),
            "probe_best_arch": self.probe[int(np.argmax(accs))].to_string(),
            "steps": self.trainer.steps_done,
            "device": str(self.trainer.device),
        }
        if self.strategy == "darts":
            out["derived_arch"] = self.trainer.derive().to_string()
        return out
