"""Runs of Syne Tune's own searchers on a tabular NAS benchmark (the Syne Tune baselines of
``benchmarks/search.py``). Requires ``pip install 'nas-meta-tune[syne]'``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..._imports import require

__all__ = ["run_syne_searcher"]


def run_syne_searcher(
    method: str,
    task_name: Any,
    *,
    n_trials: int,
    seed: int,
    data_root: Any = None,
    on_trial: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """One sequential run of a Syne Tune searcher on a tabular task (the Syne Tune baseline of
    ``benchmarks/search.py``): ``"syne_re"`` (``RegularizedEvolution``) or ``"syne_bore"``
    (``Bore`` with its logistic-regression classifier: no xgboost needed, and its
    random-forest one takes about 4 s per suggestion).

    Returns the same ``{"values", "regret", "overhead_ms"}`` as
    :func:`nas_meta_tune.integrations.experiments.runs.run_method`; overhead is the time spent in the
    searcher's ``suggest``. Configurations outside the benchmark table count as failed trials.
    """
    import numpy as np

    from ...predictors.tasks import NASTask, load_task
    from ..syne import syne_config_space
    from ._regret import regret_curve

    require("syne_tune", feature="Syne Tune baselines")
    from syne_tune.optimizer.schedulers.searchers.regularized_evolution import RegularizedEvolution

    task = task_name if isinstance(task_name, NASTask) else load_task(task_name, data_root)
    space = task.space
    table = {a.key: float(s) for a, s in zip(task.archs, task.scores)}
    cs = syne_config_space(space)
    if method == "syne_re":
        searcher = RegularizedEvolution(cs, random_seed=seed)
    elif method == "syne_bore":
        from syne_tune.optimizer.schedulers.searchers.bore import Bore

        searcher = Bore(cs, random_seed=seed, classifier="logreg")
    else:
        raise ValueError(f"unknown Syne Tune searcher {method!r}; choose 'syne_re' or 'syne_bore'.")
    values: list[float] = []
    overhead: list[float] = []
    # RegularizedEvolution's random configurations come from numpy's global RNG (``Domain.sample()``
    # without its ``random_state``), so seed that too for reproducible runs, and put it back after
    global_state = np.random.get_state()
    np.random.seed(seed)
    try:
        for trial_id in range(n_trials):
            t0 = time.perf_counter()
            config = searcher.suggest()
            overhead.append(1000 * (time.perf_counter() - t0))
            if config is None:
                break
            value = table.get(space.from_params(config).key)
            if value is None:
                searcher.on_trial_error(trial_id)
            else:
                searcher.on_trial_complete(trial_id, config, -value)  # Syne Tune searchers minimise
            values.append(float("nan") if value is None else value)
            if on_trial:
                on_trial()
    finally:
        np.random.set_state(global_state)
    best = float(np.max(task.scores))
    return {
        "values": values,
        "regret": regret_curve(values, best).tolist(),
        "overhead_ms": overhead,
    }
