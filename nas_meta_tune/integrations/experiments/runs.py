"""Run Optuna studies on a tabular NAS benchmark and compare samplers by regret.

Used by ``nas-meta-tune demo`` and ``benchmarks/search.py``. Every method runs a real Optuna
study whose objective is ``space.suggest(trial)`` looked up in the benchmark table; regret after
``t`` trials is ``best value of the task - best value found in the first t trials`` (benchmark
units, e.g. accuracy points). ``static_transfer`` is not a sampler: it evaluates architectures in
the order of their mean rank over the sibling tasks (the non-learning transfer baseline).
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..._imports import require

require("optuna", feature="sampler comparisons")

import optuna  # noqa: E402

from ...exceptions import InvalidArchitectureError  # noqa: E402
from ...predictors.meta_predictor import MetaPredictor  # noqa: E402
from ...predictors.tasks import NASTask, load_task, load_task_pool  # noqa: E402
from ._regret import regret_curve  # noqa: E402

__all__ = ["SAMPLERS", "SYNE_SEARCHERS", "make_sampler", "regret_curve", "run_method", "compare"]

SAMPLERS = ("meta_nas", "tpe", "random", "gp", "static_transfer")
SYNE_SEARCHERS = ("syne_re", "syne_bore")  # Syne Tune searchers, run by experiments.syne_runs


def _variant_options(name: str) -> dict[str, Any]:
    """The proposer options of a ``meta_nas:key=value,...`` method name, each value a Python
    literal (``None``, ``True``, ``5``, ``0.5``) or else a string, e.g. ``meta_nas:acquisition=ei``
    or ``meta_nas:warm_steps=None,refresh_every=None`` for ablations."""
    options: dict[str, Any] = {}
    for item in name.split(":", 1)[1].split(","):
        key, eq, raw = (part.strip() for part in item.partition("="))
        if not (eq and key and raw) or key in options:
            raise ValueError(
                f"method {name!r}: expected meta_nas:key=value,... with distinct keys, got {item!r}."
            )
        try:
            options[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            options[key] = raw
    return options


def make_sampler(
    name: str, space: Any, seed: int, predictor: MetaPredictor | None = None
) -> optuna.samplers.BaseSampler:
    """A fresh Optuna sampler of the given method name (``meta_nas:key=value,...`` passes
    options to :class:`~nas_meta_tune.search.MetaNASProposer`)."""
    if name == "meta_nas" or name.startswith("meta_nas:"):
        from ...samplers.optuna import MetaNASSampler

        options = _variant_options(name) if ":" in name else {}
        return MetaNASSampler(space, predictor, seed=seed, **options)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r}; choose from {SAMPLERS}.")


def _task(task: str | NASTask, data_root: Any) -> NASTask:
    return task if isinstance(task, NASTask) else load_task(task, data_root)


def run_method(
    method: str,
    task_name: str | NASTask,
    *,
    n_trials: int,
    seed: int,
    predictor: MetaPredictor | None = None,
    data_root: Any = None,
    on_trial: Callable[[], None] | None = None,
    batch: int = 1,
) -> dict[str, Any]:
    """One run: ``{"values": [...], "regret": [...], "overhead_ms": [...]}`` (overhead = time
    the sampler spent per trial, measured around the study's ask). ``task_name`` is a
    ``"family/task"`` name or a :class:`~nas_meta_tune.predictors.tasks.NASTask` (e.g. a derived
    objective such as accuracy minus a latency penalty, named ``"family/task+..."``).
    ``batch > 1`` simulates that many synchronous parallel workers: ``batch`` trials are asked
    (each sampler call sees the others as RUNNING) before their values are told."""
    if method in SYNE_SEARCHERS:
        from .syne_runs import run_syne_searcher

        return run_syne_searcher(
            method, task_name, n_trials=n_trials, seed=seed, data_root=data_root, on_trial=on_trial
        )
    task = _task(task_name, data_root)
    table = {a.key: s for a, s in zip(task.archs, task.scores)}
    best = float(np.max(task.scores))
    space = task.space
    if method == "static_transfer":
        from ...predictors.baselines import StaticTransferPredictor

        family = task.name.split("/")[0]
        base = task.name.split("+")[0]  # a derived objective's own task
        siblings = load_task_pool([family], exclude=[base], data_root=data_root)
        order = np.argsort(-StaticTransferPredictor(siblings).predict(task.archs), kind="stable")
        values, seen = [], set()
        for i in order:
            k = task.archs[i].key
            if k in seen:
                continue
            seen.add(k)
            values.append(float(task.scores[i]))
            if on_trial:
                on_trial()
            if len(values) == n_trials:
                break
        return {"values": values, "regret": regret_curve(values, best).tolist(), "overhead_ms": []}
    sampler = make_sampler(method, space, seed, predictor)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    overhead: list[float] = []
    done = 0
    while done < n_trials:
        # ``batch`` workers: each asks while the others' trials are still running, then all tell
        asked = []
        for _ in range(min(batch, n_trials - done)):
            t0 = time.perf_counter()
            trial = study.ask()
            try:
                arch = space.suggest(trial)
            except InvalidArchitectureError:  # an invalid independent draw: a failed evaluation
                arch = None
            overhead.append(1000 * (time.perf_counter() - t0))
            asked.append((trial, arch))
        for trial, arch in asked:
            if arch is not None and arch.key in table:
                study.tell(trial, float(table[arch.key]))
            else:  # invalid or not in the benchmark: a failed evaluation
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            if on_trial:
                on_trial()
        done += len(asked)
    values = [t.value if t.value is not None else np.nan for t in study.trials]
    return {
        "values": values,
        "regret": regret_curve(values, best).tolist(),
        "overhead_ms": overhead,
    }


def compare(
    task_name: str | NASTask,
    methods: Sequence[str],
    *,
    n_trials: int,
    seeds: Sequence[int],
    predictor: MetaPredictor | None = None,
    data_root: Any = None,
    on_trial: Callable[[], None] | None = None,
    batch: int = 1,
) -> dict[str, list[dict[str, Any]]]:
    """``{method: [run per seed]}`` (see :func:`run_method`)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return {
        m: [
            run_method(
                m,
                task_name,
                n_trials=n_trials,
                seed=s,
                predictor=predictor,
                data_root=data_root,
                on_trial=on_trial,
                batch=batch,
            )
            for s in seeds
        ]
        for m in methods
    }
