"""How a trial's outcome becomes a score: one policy for the Optuna, Ray Tune and Syne Tune adapters.

Every framework ends a trial in one of three ways, whatever it calls them:

* ``"complete"``: it ran its course; its value is learned from as it is;
* ``"pruned"``: stopped early by a pruner or scheduler (Optuna's PRUNED, a trial nas-meta-tune's
  Ray scheduler stopped); its last value is a partial result, biased low, so it is learned from
  with its score capped at the median complete score (:func:`combine_pruned`), or not at all
  with ``use_pruned=False`` (then it is only never proposed again);
* ``"failed"``: never learned from, never proposed again.

A finished trial may carry constraint values (Optuna's ``trial.set_constraint``): it is feasible
when every value is <= 0, and its violation is the sum of the positive ones. As in Optuna's
TPESampler, every infeasible trial ranks below every feasible one, and infeasible ones by their
violation (:func:`penalise_infeasible`).

Scores are "higher is better": ``sign`` is ``+1`` for a maximised value and ``-1`` for a
minimised one. A missing or non-finite value leaves the trial without a score (never proposed
again, not learned from). :class:`~nas_meta_tune.search.SearchSession` (Ray, Syne) and
:class:`~nas_meta_tune.search.shared.SharedHistory` (Optuna's storage) both apply this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np

from ..spaces._base import Architecture

__all__ = ["STATES", "combine_pruned", "finite", "penalise_infeasible", "trial_score", "violation"]

#: the ways a trial ends, in the words of the core
STATES = ("complete", "pruned", "failed")


def finite(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` (missing, not a number, NaN or infinite)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def trial_score(
    state: str, value: Any, sign: float | Sequence[float], *, use_pruned: bool = True
) -> Any:
    """The score a finished trial is learned from (higher = better), before the cap of
    :func:`combine_pruned`; ``None``: it is not learned from (failed, pruned with
    ``use_pruned=False``, or a missing / non-finite value).

    With one sign per objective (a multi-objective study), ``value`` is the sequence of values
    and the score a tuple (with one sign, a 1-sequence value is read as its member); any missing or non-finite value leaves the trial without a score, and
    a pruned trial has none (its partial values do not say where it would have ended)."""
    if state not in STATES:
        raise ValueError(f"state must be one of {STATES}, but got {state=}.")
    if state == "failed" or (state == "pruned" and not use_pruned):
        return None
    if isinstance(sign, (tuple, list)):
        if state == "pruned" or not isinstance(value, (tuple, list)) or len(value) != len(sign):
            return None
        xs = [finite(v) for v in value]
        return None if any(x is None for x in xs) else tuple(s * x for s, x in zip(sign, xs))
    if isinstance(value, (tuple, list)):  # one objective, given as a 1-sequence
        value = value[0] if len(value) == 1 else None
    x = finite(value)
    return None if x is None else cast(float, sign) * x


def combine_pruned(
    complete: Sequence[tuple[Architecture, float]], pruned: Sequence[tuple[Architecture, float]]
) -> list[tuple[Architecture, float]]:
    """The history to learn from: complete trials as they are, pruned / stopped ones with their
    last score capped at the median complete score (a partial curve is biased low, and a pruned
    trial must never look better than a typical finished one). With nothing complete yet the
    pruned scores are the only signal and keep their spread."""
    if not pruned:
        return list(complete)
    cap = float(np.median([s for _, s in complete])) if complete else math.inf
    return [*complete, *((a, min(s, cap)) for a, s in pruned)]


def violation(constraints: Mapping[str, Any]) -> float:
    """The sum of a trial's positive constraint values (0: feasible). A value may be a sequence
    (Optuna < 5 stores a ``constraints_func`` result as one list); a NaN raises."""
    total = 0.0
    for name, value in constraints.items():
        for v in value if isinstance(value, (tuple, list)) else (value,):
            x = float(v)
            if math.isnan(x):
                raise ValueError(f"constraint {name!r} is NaN.")
            total += max(x, 0.0)
    return total


def penalise_infeasible(
    scored: Sequence[tuple[Architecture, Any]], violations: Sequence[float]
) -> list[tuple[Architecture, Any]]:
    """Scores to learn from when some trials broke their constraints: a feasible trial keeps
    its score; an infeasible one's (per objective) becomes ``low - span * (0.5 + v / v_max)``,
    ``low`` and ``span`` the minimum and range of the feasible scores (span 1 when they do not
    vary), or ``-v`` when no trial is feasible, so every infeasible trial ranks below every
    feasible one and a larger violation ranks lower (TPESampler's order; its own value is not
    used). The surrogate then learns where the infeasible architectures lie, and the incumbent
    is feasible."""
    if len(scored) != len(violations):
        raise ValueError(f"{len(scored)} scores but {len(violations)} violations.")
    v = np.asarray(violations, dtype=np.float64)
    if not (v > 0).any():
        return list(scored)
    multi = isinstance(scored[0][1], tuple)
    ys = np.array([np.atleast_1d(np.asarray(s, dtype=np.float64)) for _, s in scored])
    feasible = ys[v <= 0]
    out: list[tuple[Architecture, Any]] = []
    for (arch, score), vi in zip(scored, v):
        if vi > 0:
            if len(feasible):
                span = np.ptp(feasible, axis=0)
                pen = feasible.min(0) - np.where(span > 0, span, 1.0) * (0.5 + vi / v.max())
            else:
                pen = np.full(ys.shape[1], -vi)
            score = tuple(float(x) for x in pen) if multi else float(pen[0])
        out.append((arch, score))
    return out
