"""Leave-one-task-out few-shot evaluation of the meta-predictor against its baselines.

For a held-out task ``family/task``: meta-train without it, then for every ``K`` and seed draw
``K`` random architectures of the task (the same draw for every method: the seed fixes it), let
each method learn from them and rank all the other architectures of the task; report Spearman's
rho and Kendall's tau (:func:`~nas_meta_tune.predictors.baselines.few_shot_scores`).

Methods (:data:`METHODS`):

* ``boil``, ``maml``, ``anil``, ``multitask``: meta-trained GCNs adapted on the ``K`` samples with
  their inner-loop rule (``multitask`` is pooled pre-training + fine-tuning of all weights).
* ``boil_auto``: BOIL adapted with ``steps="auto"`` (the step count, 0 included, chosen by
  cross-validation on the ``K`` samples; :func:`~nas_meta_tune.predictors.meta.select_adapt_steps`).
* ``zero_shot``: the BOIL meta-initialisation, not adapted.
* ``scratch_gcn``: the same GCN trained from a random initialisation on the ``K`` samples.
* ``random_forest``, ``lightgbm``: tree models on the one-hot encoding of the ``K`` samples.
* ``gp``: a Gaussian process on the path encoding (:class:`~nas_meta_tune.predictors.baselines.GPPredictor`).
* ``static_transfer``, ``transfer_ridge``: mean rank over the sibling tasks, and that plus a ridge
  regression on the ``K`` samples' residuals.

Siblings are the held-out task's family members (same space); the meta-training pool is set by
the training config (by default the same siblings: the tasks that share the space). When the
config's pool leaves out the task's whole family (leave-one-space-out), the sibling methods
(``static_transfer``, ``transfer_ridge``) are refused, and every task of that family shares one
meta-initialisation in the cache (excluding the task changes nothing about the training).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._logging import get_logger
from ..spaces._base import Architecture
from .baselines import (
    BaselinePredictor,
    GPPredictor,
    LightGBMPredictor,
    RandomForestPredictor,
    StaticTransferPredictor,
    TransferRidgePredictor,
    few_shot_scores,
)
from .gcn import LEGACY_IN_DIM
from .meta import ALGORITHMS, train_from_scratch
from .meta_predictor import MetaPredictor
from .tasks import NASTask, load_task, load_task_pool
from .training import TrainConfig, run_meta_train

__all__ = [
    "METHODS",
    "SIBLING_METHODS",
    "MetaFewShot",
    "ScratchGCN",
    "evaluate_held_out",
    "held_out_meta_init",
]

METHODS = (
    "boil",
    "boil_auto",
    "maml",
    "anil",
    "multitask",
    "zero_shot",
    "scratch_gcn",
    "random_forest",
    "lightgbm",
    "gp",
    "static_transfer",
    "transfer_ridge",
)
#: methods that learn from the held-out task's siblings (same space)
SIBLING_METHODS = ("static_transfer", "transfer_ridge")
_log = get_logger(__name__)


class MetaFewShot(BaselinePredictor):
    """A :class:`MetaPredictor` behind the baseline ``fit``/``predict`` interface (fit = adapt)."""

    def __init__(
        self,
        predictor: MetaPredictor,
        *,
        adapt: bool = True,
        steps: int | str | None = None,
    ) -> None:
        self.base = predictor
        self.adapt_on_fit = adapt
        self.steps = steps
        self.current = predictor
        self.name = (
            "zero_shot" if not adapt else predictor.algorithm + ("_auto" if steps == "auto" else "")
        )

    def fit(
        self, archs: Sequence[Architecture], scores: Sequence[float] | np.ndarray
    ) -> MetaFewShot:
        """Adapt the meta-predictor on the samples (if it adapts and there are 2 or more)."""
        self.current = (
            self.base.adapt(archs, scores, steps=self.steps)
            if self.adapt_on_fit and len(archs) >= 2
            else self.base
        )
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Predictions of the current (adapted or meta-initial) predictor."""
        return self.current.predict(archs)


class ScratchGCN(BaselinePredictor):
    """The predictor's GCN trained from scratch on the ``K`` samples (no meta-learning)."""

    name = "scratch_gcn"

    def __init__(self, seed: int | None = 0, steps: int = 200) -> None:
        self.seed, self.steps = seed, steps
        self.model: MetaPredictor | None = None

    def fit(
        self, archs: Sequence[Architecture], scores: Sequence[float] | np.ndarray
    ) -> ScratchGCN:
        """Train the GCN from scratch on the samples."""
        self.model = MetaPredictor(
            train_from_scratch(archs, scores, steps=self.steps, seed=self.seed)
        )
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Predictions of the GCN :meth:`fit` trained."""
        assert self.model is not None, "fit() first"
        return self.model.predict(archs)


def _config_for(config: TrainConfig, algorithm: str) -> TrainConfig:
    raw = config.to_dict()
    raw["meta"] = {**raw["meta"], "algorithm": algorithm}
    return TrainConfig(raw, f"{config.source}[{algorithm}]")


def _cache_path(
    cache_dir: str | os.PathLike[str],
    config: TrainConfig,
    held_out: str,
    view: dict[str, Any],
    data_root: str | os.PathLike[str] | None,
) -> Path:
    # a task whose family the pool leaves out is excluded anyway: one file serves the family
    family = held_out.split("/")[0]
    in_pool = config.families is None or family in config.families
    raw: dict[str, Any] = {"config": view, "exclude": [held_out] if in_pool else []}
    if data_root is not None:
        raw["data_root"] = str(Path(data_root).resolve())
    key = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:10]
    tag = held_out.replace("/", "__") if in_pool else f"no-{family}"
    name = f"{config.meta.algorithm}_{tag}_{config.meta.steps}_{key}.pt"
    return Path(cache_dir) / name


def _legacy_views(config: TrainConfig) -> list[dict[str, Any]]:
    """How ``config`` was recorded before the open operation vocabulary, when it trains the same
    way (no hidden tokens): such files load widened and predict exactly as they did."""
    if config.meta.hide_tokens > 0:
        return []
    view = config.to_dict()
    view["gcn"] = {"in_dim": LEGACY_IN_DIM, **view["gcn"]}
    view["meta"] = {k: v for k, v in view["meta"].items() if k != "hide_tokens"}
    return [view]


def held_out_meta_init(
    held_out: str,
    config: TrainConfig,
    *,
    algorithm: str | None = None,
    data_root: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[MetaPredictor, bool]:
    """The meta-initialisation ``config`` gives when ``held_out`` is left out of its pool.

    With ``cache_dir``, a predictor meta-trained before from the same configuration, exclusion and
    ``data_root`` is loaded from there (and a new one saved there). The file name carries the
    algorithm, the task, the step count and a hash of those, so a changed config never reuses an
    old file; a file whose recorded config differs from ``config`` is not used either. The key
    does not cover the code: after changing the meta-training code or the task data, empty the
    cache. A config with a time budget is never cached (its run may stop before its steps).
    Returns ``(predictor, loaded_from_cache)``; the training wall time is in
    ``predictor.info["seconds"]`` and the commit that trained it in ``predictor.info["commit"]``.
    """
    if algorithm is not None:
        config = _config_for(config, algorithm)
    path = None
    if cache_dir is not None and config.time_budget_s is None:
        views = [config.to_dict(), *_legacy_views(config)]
        for i, view in enumerate(views):
            candidate = _cache_path(cache_dir, config, held_out, view, data_root)
            path = path or candidate
            if candidate.exists():
                cached = MetaPredictor.load(candidate)
                if cached.info.get("config") == view:
                    return cached, True
                if i == 0:
                    _log.warning("%s was trained from another config: meta-training afresh", path)
    predictor = run_meta_train(config, data_root=data_root, exclude=[held_out])
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        predictor.save(path)
    return predictor, False


def _check_methods(held_out: str, config: TrainConfig, methods: list[str]) -> str:
    """Reject unknown methods, and sibling methods under a leave-one-space-out config; the
    held-out task's family."""
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; choose from {list(METHODS)}.")
    family = held_out.split("/")[0]
    out_of_pool = config.families is not None and family not in config.families
    if out_of_pool and set(SIBLING_METHODS) & set(methods):
        raise ValueError(
            f"{sorted(set(SIBLING_METHODS) & set(methods))} learn from {family!r} tasks, which this "
            "leave-one-space-out config keeps out of meta-training; drop them."
        )
    return family


def _meta_factories(
    held_out: str,
    config: TrainConfig,
    methods: list[str],
    *,
    data_root: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str] | None,
    say: Callable[[str], None],
) -> tuple[
    dict[str, Callable[[int], BaselinePredictor]], dict[str, float | None], dict[str, str | None]
]:
    """Meta-train (or load from the cache) every algorithm ``methods`` need, without
    ``held_out``; ``(factories, meta_seconds, cached)`` as :func:`evaluate_held_out` uses them."""
    factories: dict[str, Callable[[int], BaselinePredictor]] = {}
    meta_seconds: dict[str, float | None] = {}
    meta_needed = [m for m in methods if m in ALGORITHMS]
    if {"zero_shot", "boil_auto"} & set(methods) and "boil" not in meta_needed:
        meta_needed.append("boil")
    cached: dict[str, str | None] = {}  # algorithm -> commit that trained the cached file
    for alg in meta_needed:
        predictor, hit = held_out_meta_init(
            held_out, config, algorithm=alg, data_root=data_root, cache_dir=cache_dir
        )
        meta_seconds[alg] = predictor.info.get("seconds")
        if hit:
            cached[alg] = predictor.info.get("commit")
        say(
            f"{held_out}: meta-trained {alg} in {meta_seconds[alg]} s"
            + (" (loaded from the cache)" if hit else "")
        )
        # the ignores below: mypy cannot infer a lambda with default arguments (python/mypy#15459)
        if alg in methods:
            factories[alg] = lambda seed, p=predictor: MetaFewShot(p)  # type: ignore[misc]
        if alg == "boil":
            factories["zero_shot"] = lambda seed, p=predictor: MetaFewShot(p, adapt=False)  # type: ignore[misc]
            factories["boil_auto"] = lambda seed, p=predictor: MetaFewShot(p, steps="auto")  # type: ignore[misc]
    return factories, meta_seconds, cached


def _baseline_factories(
    siblings: list[NASTask], methods: list[str]
) -> dict[str, Callable[[int], BaselinePredictor]]:
    """``seed -> predictor`` for the methods that are not meta-trained."""
    factories: dict[str, Callable[[int], BaselinePredictor]] = {
        "scratch_gcn": lambda seed: ScratchGCN(seed=seed),
        "random_forest": lambda seed: RandomForestPredictor(seed=seed),
        "lightgbm": lambda seed: LightGBMPredictor(seed=seed),
        "gp": lambda seed: GPPredictor(seed=seed),
        "transfer_ridge": lambda seed: TransferRidgePredictor(siblings),
    }
    if "static_transfer" in methods:  # fitted once: it does not depend on the samples
        static = StaticTransferPredictor(siblings)
        factories["static_transfer"] = lambda seed: static
    return factories


def _method_scores(
    make: Callable[[int], BaselinePredictor], target: NASTask, ks: Sequence[int], seeds: int
) -> dict[int, dict[str, float]]:
    """Mean and spread over ``seeds`` of one method's few-shot scores on ``target``, per ``K``."""
    per_k: dict[int, dict[str, float]] = {}
    for k in ks:
        rows = [
            few_shot_scores(lambda s=seed, f=make: f(s), target, k, seed)  # type: ignore[misc]
            for seed in range(seeds)
        ]
        rho = np.array([r["spearman"] for r in rows])
        tau = np.array([r["kendall"] for r in rows])
        per_k[int(k)] = {
            "spearman": float(rho.mean()),
            "kendall": float(tau.mean()),
            "spearman_std": float(rho.std()),
            "seeds": len(rows),
        }
    return per_k


def evaluate_held_out(
    held_out: str,
    *,
    config: TrainConfig,
    methods: Iterable[str] = METHODS,
    ks: Sequence[int] = (0, 5, 10, 20, 50),
    seeds: int = 10,
    data_root: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Few-shot scores of every method on ``held_out`` (meta-trained without it).

    ``cache_dir`` reuses meta-initialisations trained before from the same configuration
    (:func:`held_out_meta_init`).

    Returns:
        ``{method: {K: {"spearman": mean, "kendall": mean, "spearman_std": std, "seeds": n}}}``
        plus ``"_meta_seconds": {algorithm: seconds}`` (meta-training wall time, also for a
        cached meta-initialisation) and ``"_meta_cached": {algorithm: commit}`` for the
        meta-initialisations loaded from the cache (the commit that trained them).
    """
    methods = list(methods)
    family = _check_methods(held_out, config, methods)
    target: NASTask = load_task(held_out, data_root)
    siblings = load_task_pool([family], exclude=[held_out], data_root=data_root)
    say = progress or (lambda msg: _log.info("%s", msg))

    factories, meta_seconds, cached = _meta_factories(
        held_out, config, methods, data_root=data_root, cache_dir=cache_dir, say=say
    )
    factories.update(_baseline_factories(siblings, methods))

    out: dict[str, Any] = {}
    for method in methods:
        per_k = _method_scores(factories[method], target, ks, seeds)
        out[method] = per_k
        say(
            f"{held_out}: {method} "
            + " ".join(f"K={k}:{v['spearman']:.3f}" for k, v in per_k.items())
        )
    out["_meta_seconds"] = meta_seconds
    out["_meta_cached"] = cached
    return out
