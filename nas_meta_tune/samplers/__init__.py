"""Framework adapters that decide *what to try next*: the meta-predictor proposer as an Optuna
sampler, a Ray Tune searcher and a Syne Tune searcher.

Each adapter lives in its own module and imports its framework only when used::

    from nas_meta_tune.samplers import MetaNASSampler       # needs optuna
    from nas_meta_tune.samplers import MetaNASSearch        # needs ray[tune]
    from nas_meta_tune.samplers import MetaNASSyneSearcher  # needs syne-tune
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["MetaNASSampler", "MetaNASSearch", "MetaNASSyneSearcher"]

_WHERE = {"MetaNASSampler": ".optuna", "MetaNASSearch": ".ray", "MetaNASSyneSearcher": ".syne"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
