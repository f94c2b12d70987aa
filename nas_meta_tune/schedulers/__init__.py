"""Framework adapters that decide *whether a trial should go on*: learning-curve extrapolation and
ranking as Optuna pruners, Ray Tune schedulers and a Syne Tune scheduler.

One class per framework, each taking any curve model (an object such as
:class:`~nas_meta_tune.curves.LCRankModel` or a name, ``model="pfn"``), and all calling the same
rule, :class:`nas_meta_tune.curves.stopping.LCStoppingRule`. Each adapter imports its framework
only when used::

    from nas_meta_tune.schedulers import LCExtrapolationPruner            # optuna
    from nas_meta_tune.schedulers import LCExtrapolationScheduler         # ray[tune]
    from nas_meta_tune.schedulers import LCExtrapolationSyneScheduler     # syne-tune

``LCRankPruner`` and ``LCRankScheduler`` are deprecated aliases of the first two with
``model=LCRankModel(...)``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "LCExtrapolationPruner",
    "LCRankPruner",
    "report",
    "should_prune",
    "LCExtrapolationScheduler",
    "LCRankScheduler",
    "LCExtrapolationSyneScheduler",
]

_WHERE = {
    "LCExtrapolationPruner": ".optuna",
    "LCRankPruner": ".optuna",
    "report": ".optuna",
    "should_prune": ".optuna",
    "LCExtrapolationScheduler": ".ray",
    "LCRankScheduler": ".ray",
    "LCExtrapolationSyneScheduler": ".syne",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
