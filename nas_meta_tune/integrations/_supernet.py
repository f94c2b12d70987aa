"""What the supernet trainable (Ray Tune) and objective (Optuna) share: one training run of a
NAS-Bench-Graph or NAS-Bench-201 supernet (or split-tree leaf), advanced an iteration at a time, with
a fixed probe set of architectures whose inherited-weight validation accuracy tracks it (no
framework imported here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

STRATEGIES = ("spos", "darts")
SPACES = ("nasbench_graph", "nb201")


class SupernetRun:
    """A supernet (``strategy`` ``"spos"`` or ``"darts"``), optionally restricted to one leaf's
    ``op_choices``, and its probe architectures (drawn from ``seed``).

    ``space="nasbench_graph"`` (default): the GNN supernet on a Planetoid graph (``dataset`` is
    ``"cora"`` / ``"citeseer"``; ``hidden``, ``lr`` default 0.005). ``space="nb201"``: the
    NAS-Bench-201 supernet on images (``dataset`` is ``"digits"``, a callable returning
    ``((x_train, y_train), (x_valid, y_valid))`` -- e.g. your CIFAR-10 loader -- or those tensors;
    ``C``, ``N``, ``batch_size``, ``lr`` default 0.025 as NAS-Bench-201's search code).
    """

    def __init__(
        self,
        dataset: Any,
        *,
        space: str = "nasbench_graph",
        strategy: str = "spos",
        op_choices: Sequence[Sequence[str]] | None = None,
        hidden: int = 64,
        lr: float | None = None,
        arch_lr: float = 3e-4,
        C: int = 16,
        N: int = 5,
        batch_size: int = 64,
        seed: int = 0,
        probe_archs: int = 16,
        device: Any = None,
        data_root: Any = None,
    ) -> None:
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, but got {space=}.")
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, but got {strategy=}.")
        if strategy == "darts" and op_choices is not None:
            raise ValueError("a split-tree leaf (op_choices) is trained with SPOS, not DARTS.")
        if probe_archs < 1:
            raise ValueError(f"probe_archs must be >= 1, but got {probe_archs=}.")
        if space == "nb201":
            from ..oneshot import build_nb201_supernet
            from ..oneshot.images import load_image_dataset

            train, valid = load_image_dataset(dataset, seed=int(seed))
            kwargs = {"arch_lr": float(arch_lr)} if strategy == "darts" else {}
            trainer = build_nb201_supernet(
                train,
                valid,
                strategy=strategy,
                C=int(C),
                N=int(N),
                op_choices=op_choices,
                seed=int(seed),
                device=device,
                batch_size=int(batch_size),
                lr=0.025 if lr is None else float(lr),
                **kwargs,
            )
        else:
            from ..oneshot import build_supernet

            trainer = build_supernet(
                dataset,
                hidden=int(hidden),
                lr=0.005 if lr is None else float(lr),
                seed=int(seed),
                device=device,
                data_root=data_root,
                strategy=strategy,
                arch_lr=float(arch_lr),
            )
            if op_choices is not None:
                trainer = trainer.spawn(op_choices, inherit=False, seed=int(seed))
        self.trainer = trainer
        self.space = space
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
