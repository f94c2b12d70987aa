"""Optuna objectives that train real networks.

Requires ``pip install 'nas-meta-tune[optuna]'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._imports import require
from ..spaces._base import SearchSpace

if TYPE_CHECKING:
    import optuna

    from ._supernet import SupernetRun

__all__ = ["gnn_objective", "supernet_objective"]


def gnn_objective(
    dataset: str,
    *,
    epochs: int | None,
    space: SearchSpace | str | None = None,
    data_root: str | os.PathLike[str] | None = None,
    seed: int = 0,
    device: Any = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Callable[[optuna.Trial], float]:
    """An Optuna objective that trains the proposed NAS-Bench-Graph GNN on Cora or CiteSeer.

    The objective asks for the architecture with ``space.suggest(trial)`` (so
    :class:`~nas_meta_tune.samplers.MetaNASSampler` proposes it), trains it with
    :func:`~nas_meta_tune.oneshot.train_gnn`, calls ``trial.report(valid_acc, epoch)`` after every
    epoch (``epoch`` counts from 1) and raises ``optuna.TrialPruned`` as soon as
    ``trial.should_prune()`` says so.

    It returns the **best** validation accuracy over the epochs (percent; maximise), the quantity
    NAS-Bench-Graph tabulates as ``valid`` and the shipped predictor was meta-trained on. The
    final-epoch validation accuracy, the test accuracy at the best validation epoch, the best
    epoch, the parameter count and the architecture string are stored as user attributes
    (``final_valid_acc``, ``test_acc_at_best_valid``, ``best_epoch``, ``params``, ``arch``).

    Every trial trains with the same ``seed``, so an architecture proposed twice gets the same
    value and differences between trials come from the architectures.

    Args:
        dataset: ``"cora"`` or ``"citeseer"``; loaded once, here (a missing file fails now).
        epochs: Training epochs per trial (``None``: the NAS-Bench-Graph protocol's, 400).
        space: The ``nasbench_graph`` space (object or name; default ``"nasbench_graph"``).
        data_root: Data root holding ``planetoid/`` (see :func:`~nas_meta_tune.oneshot.load_planetoid`).
        seed: Seed of every trial's training.
        device: Torch device (default: CUDA when available, else CPU).
        cache_dir: Writable folder for the processed dataset.

    Example::

        study = optuna.create_study(
            direction="maximize",
            sampler=MetaNASSampler("nasbench_graph"),
            pruner=optuna.pruners.MedianPruner(n_warmup_steps=20),
        )
        study.optimize(gnn_objective("cora", epochs=100), n_trials=20)
    """
    optuna_mod = require("optuna", feature="the GNN objective")
    from ..oneshot.gnn import load_planetoid, train_gnn
    from ..spaces import get_space

    if epochs is not None and epochs < 1:
        raise ValueError(f"epochs must be >= 1 or None, but got {epochs=}.")
    space_obj = space if isinstance(space, SearchSpace) else get_space(space or "nasbench_graph")
    data = load_planetoid(dataset, data_root, cache_dir=cache_dir)

    def objective(trial: optuna.Trial) -> float:
        arch = space_obj.suggest(trial)
        trial.set_user_attr("arch", arch.to_string())
        pruned_at: list[int] = []

        def report(epoch: int, metrics: dict[str, float]) -> bool:
            trial.report(metrics["valid_acc"], epoch)
            if trial.should_prune():
                pruned_at.append(epoch)
                return True
            return False

        run = train_gnn(arch, data, epochs=epochs, seed=seed, device=device, callback=report)
        for key in ("final_valid_acc", "test_acc_at_best_valid", "best_epoch", "params"):
            trial.set_user_attr(key, run[key])
        if pruned_at:
            raise optuna_mod.TrialPruned(
                f"pruned at epoch {pruned_at[0]} (valid_acc {run['final_valid_acc']:.2f})"
            )
        return float(run["best_valid_acc"])

    objective.__name__ = f"gnn_{dataset.lower()}"
    return objective


def _check_supernet_args(strategy: str, iterations: int, steps_per_iter: int, space: str) -> None:
    """Reject an unknown strategy or space and non-positive iteration or step counts."""
    from ._supernet import SPACES, STRATEGIES

    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, but got {strategy=}.")
    if iterations < 1 or steps_per_iter < 1:
        raise ValueError(
            f"need iterations >= 1 and steps_per_iter >= 1, got {iterations=}, {steps_per_iter=}."
        )
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, but got {space=}.")


def _tunable(space: str) -> tuple[set[str], tuple[float, float]]:
    """The hyperparameters ``suggest`` may return for ``space``, and the default ``lr`` range."""
    allowed = {"hidden", "lr", "arch_lr"} | (
        {"C", "N", "batch_size"} if space == "nb201" else set()
    )
    lr_range = (3e-3, 1e-1) if space == "nb201" else (1e-3, 3e-2)
    return allowed, lr_range


def _train_and_report(
    run: SupernetRun, trial: optuna.Trial, iterations: int, steps_per_iter: int, optuna_mod: Any
) -> float:
    """Train ``run`` for ``iterations`` x ``steps_per_iter`` steps, reporting the probe accuracy
    to ``trial`` after every iteration (and pruning when it says so); the last accuracy."""
    for it in range(1, iterations + 1):
        metrics = run.iteration(steps_per_iter)
        trial.report(metrics["probe_valid_acc"], it)
        for key in ("probe_best_arch", "steps", "derived_arch"):
            if key in metrics:
                trial.set_user_attr(key, metrics[key])
        if trial.should_prune():
            raise optuna_mod.TrialPruned(
                f"pruned at iteration {it} (probe_valid_acc {metrics['probe_valid_acc']:.2f})"
            )
    return float(metrics["probe_valid_acc"])


def supernet_objective(
    dataset: str,
    *,
    iterations: int = 10,
    steps_per_iter: int = 10,
    strategy: str = "spos",
    op_choices: Sequence[Sequence[str]] | None = None,
    probe_archs: int = 16,
    suggest: Callable[[optuna.Trial], dict[str, Any]] | None = None,
    seed: int = 0,
    device: Any = None,
    data_root: str | os.PathLike[str] | None = None,
    space: str = "nasbench_graph",
) -> Callable[[optuna.Trial], float]:
    """An Optuna objective that trains a supernet (or one split-tree leaf) of the NAS-Bench-Graph
    cell on a Planetoid graph, or of the NAS-Bench-201 cell on images (``space="nb201"``).

    The Optuna counterpart of :class:`~nas_meta_tune.integrations.trainables.SupernetTrainable`:
    each trial builds a supernet with the hyperparameters ``suggest(trial)`` returns (default:
    ``lr`` on a log scale in [1e-3, 3e-2], or [3e-3, 1e-1] for ``nb201``; any of ``hidden``, ``lr``,
    ``arch_lr``, and for ``nb201`` ``C``, ``N``, ``batch_size``), trains it for
    ``iterations`` x ``steps_per_iter`` steps and, after every iteration, reports the mean
    inherited-weight validation accuracy of a fixed probe set of architectures
    (``trial.report(probe_valid_acc, iteration)``), so Optuna's pruners stop poor settings
    early. It returns the last iteration's value (maximise) and stores ``probe_best_arch``,
    ``steps`` and, with DARTS, ``derived_arch`` as user attributes.

    Args:
        dataset: ``"cora"`` or ``"citeseer"``; for ``nb201`` ``"digits"`` or a callable
            returning ``((x_train, y_train), (x_valid, y_valid))`` image tensors.
        iterations: Reported iterations per trial.
        steps_per_iter: Training steps (full-batch epochs of one path, or DARTS steps) per iteration.
        strategy: ``"spos"`` or ``"darts"``.
        op_choices: Restrict to one leaf of a split tree (SPOS only).
        probe_archs: Size of the probe set (drawn from ``seed``).
        suggest: ``trial -> dict`` of hyperparameters to tune (see above).
        seed: The run's seed.
        device: The torch device.
        data_root: The data root of ``planetoid/``.
        space: ``"nasbench_graph"`` (default) or ``"nb201"``.

    Example::

        study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner())
        study.optimize(supernet_objective("cora", iterations=20), n_trials=10)
    """
    optuna_mod = require("optuna", feature="the supernet objective")
    from ._supernet import SupernetRun

    _check_supernet_args(strategy, iterations, steps_per_iter, space)
    allowed, lr_range = _tunable(space)

    def default_suggest(trial: optuna.Trial) -> dict[str, Any]:
        return {"lr": trial.suggest_float("lr", *lr_range, log=True)}

    def objective(trial: optuna.Trial) -> float:
        hps = (suggest or default_suggest)(trial)
        unknown = set(hps) - allowed
        if unknown:
            raise ValueError(f"suggest() returned {sorted(unknown)}; tunable: {sorted(allowed)}.")
        run = SupernetRun(
            dataset,
            space=space,
            strategy=strategy,
            op_choices=op_choices,
            seed=seed,
            probe_archs=probe_archs,
            device=device,
            data_root=data_root,
            **hps,
        )
        return _train_and_report(run, trial, iterations, steps_per_iter, optuna_mod)

    name = dataset.lower() if isinstance(dataset, str) else "images"
    objective.__name__ = f"supernet_{strategy}_{name}"
    return objective
