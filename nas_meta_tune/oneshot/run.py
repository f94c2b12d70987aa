"""One supernet training run advanced an iteration at a time, tracked by a fixed probe set of
architectures: what the supernet trainable (Ray Tune) and objective (Optuna) run, framework-free.

Each space has its own builder of an untrained trainer, taking that space's hyperparameters only
(:data:`RUN_HYPERPARAMETERS`):

* ``"nasbench_graph"``: the graph supernet on a Planetoid graph (``dataset`` is ``"cora"`` /
  ``"citeseer"``; ``hidden`` 64, ``lr`` 0.005, ``arch_lr`` 3e-4);
* ``"nb201"``: the NAS-Bench-201 supernet on images (``dataset`` is ``"digits"``, a callable
  returning ``((x_train, y_train), (x_valid, y_valid))`` -- e.g. your CIFAR-10 loader -- or those
  tensors; ``C`` 16, ``N`` 5, ``batch_size`` 64, ``lr`` 0.025 as NAS-Bench-201's search code,
  ``arch_lr`` 3e-4).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..networks.images import load_image_dataset
from .graph_supernet import build_supernet
from .nb201_supernet import build_nb201_supernet
from .spos import SPOSTrainer

__all__ = ["RUN_BUILDERS", "RUN_HYPERPARAMETERS", "SPACES", "STRATEGIES", "SupernetRun"]

STRATEGIES = ("spos", "darts")


def _graph_trainer(
    dataset: Any,
    *,
    strategy: str,
    op_choices: Sequence[Sequence[str]] | None,
    seed: int,
    device: Any,
    data_root: str | os.PathLike[str] | None,
    hidden: int = 64,
    lr: float = 0.005,
    arch_lr: float = 3e-4,
) -> SPOSTrainer:
    return build_supernet(
        dataset,
        hidden=int(hidden),
        lr=float(lr),
        seed=seed,
        device=device,
        data_root=data_root,
        strategy=strategy,
        arch_lr=float(arch_lr),
        op_choices=op_choices,
    )


def _nb201_trainer(
    dataset: Any,
    *,
    strategy: str,
    op_choices: Sequence[Sequence[str]] | None,
    seed: int,
    device: Any,
    data_root: str | os.PathLike[str] | None,
    C: int = 16,
    N: int = 5,
    batch_size: int = 64,
    lr: float = 0.025,
    arch_lr: float = 3e-4,
) -> SPOSTrainer:
    train, valid = load_image_dataset(dataset, seed=seed)
    return build_nb201_supernet(
        train,
        valid,
        strategy=strategy,
        C=int(C),
        N=int(N),
        op_choices=op_choices,
        seed=seed,
        device=device,
        batch_size=int(batch_size),
        lr=float(lr),
        **({"arch_lr": float(arch_lr)} if strategy == "darts" else {}),
    )


#: space name -> ``builder(dataset, *, strategy, op_choices, seed, device, data_root, **hps)``
RUN_BUILDERS: dict[str, Callable[..., SPOSTrainer]] = {
    "nasbench_graph": _graph_trainer,
    "nb201": _nb201_trainer,
}
#: space name -> the hyperparameters its builder takes
RUN_HYPERPARAMETERS: dict[str, tuple[str, ...]] = {
    "nasbench_graph": ("hidden", "lr", "arch_lr"),
    "nb201": ("C", "N", "batch_size", "lr", "arch_lr"),
}
SPACES = tuple(RUN_BUILDERS)


class SupernetRun:
    """A supernet (``strategy`` ``"spos"`` or ``"darts"``) of ``space``, optionally restricted to
    one split-tree leaf's ``op_choices``, and its probe architectures (drawn from ``seed``).

    Args:
        dataset: The space's data (see the module docstring).
        space: ``"nasbench_graph"`` (default) or ``"nb201"``.
        strategy: ``"spos"`` or ``"darts"`` (DARTS trains the whole space, not a leaf).
        op_choices: The leaf's allowed operations per position (default: the whole space).
        seed: Seeds the supernet, its training and the probe set.
        probe_archs: Size of the probe set.
        device: Torch device (default: CUDA when available).
        data_root: Data root of ``planetoid/`` (read by the graph space only).
        **hyperparameters: The space's hyperparameters (:data:`RUN_HYPERPARAMETERS`).

    Raises:
        ValueError: An unknown space, strategy or hyperparameter, or a DARTS leaf.
    """

    def __init__(
        self,
        dataset: Any,
        *,
        space: str = "nasbench_graph",
        strategy: str = "spos",
        op_choices: Sequence[Sequence[str]] | None = None,
        seed: int = 0,
        probe_archs: int = 16,
        device: Any = None,
        data_root: str | os.PathLike[str] | None = None,
        **hyperparameters: Any,
    ) -> None:
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, but got {space=}.")
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, but got {strategy=}.")
        if strategy == "darts" and op_choices is not None:
            raise ValueError("a split-tree leaf (op_choices) is trained with SPOS, not DARTS.")
        if probe_archs < 1:
            raise ValueError(f"probe_archs must be >= 1, but got {probe_archs=}.")
        unknown = sorted(set(hyperparameters) - set(RUN_HYPERPARAMETERS[space]))
        if unknown:
            raise ValueError(
                f"{unknown} are not hyperparameters of the {space} supernet; it takes "
                f"{list(RUN_HYPERPARAMETERS[space])}."
            )
        self.trainer = RUN_BUILDERS[space](
            dataset,
            strategy=strategy,
            op_choices=op_choices,
            seed=int(seed),
            device=device,
            data_root=data_root,
            **hyperparameters,
        )
        self.space, self.strategy = space, strategy
        rng = np.random.default_rng(int(seed))
        self.probe = [self.trainer.supernet.sample_arch(rng) for _ in range(int(probe_archs))]

    def iteration(self, steps: int) -> dict[str, Any]:
        """``steps`` training steps; the metrics of the iteration: ``loss`` (their mean training
        loss), ``probe_valid_acc`` (mean inherited-weight validation accuracy of the probe set),
        ``probe_best_arch``, ``steps``, ``device`` and, with DARTS, ``derived_arch``."""
        losses = self.trainer.train(int(steps))
        accs = self.trainer.rank(self.probe, "acc")
        out = {
            "loss": float(np.mean(losses)) if losses else float("nan"),
            "probe_valid_acc": float(np.mean(accs)),
            "probe_best_arch": self.probe[int(np.argmax(accs))].to_string(),
            "steps": self.trainer.steps_done,
            "device": str(self.trainer.device),
        }
        if self.strategy == "darts":
            out["derived_arch"] = self.trainer.derive().to_string()  # type: ignore[attr-defined]
        return out
