"""Regret of a run on a tabular benchmark (framework-neutral; shared by the Optuna and Syne Tune runners)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["regret_curve"]


def regret_curve(values: Sequence[float], best: float) -> np.ndarray:
    """``best - running max`` of ``values`` (NaN-safe), one entry per trial."""
    v = np.asarray(values, dtype=np.float64)
    v = np.where(np.isfinite(v), v, -np.inf)
    return best - np.maximum.accumulate(v)
