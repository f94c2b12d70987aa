"""``MetaNASSyneSearcher``: the meta-predictor NAS proposer as a Syne Tune searcher (0.16 API).

Usage::

    space = get_space("nb201")
    searcher = MetaNASSyneSearcher(syne_config_space(space), space=space, random_seed=0)
    scheduler = SingleObjectiveScheduler(syne_config_space(space), metric="valid", do_minimize=False, searcher=searcher)

Syne Tune's schedulers hand the searcher a metric to *minimise* (they negate maximised metrics),
so the searcher's score is ``-metric``. Suggested configurations are pending until their trial
completes or fails; failed or non-finite trials are never proposed again nor used for adaptation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._imports import require

require("syne_tune", feature="MetaNASSyneSearcher")

from syne_tune.optimizer.schedulers.searchers.single_objective_searcher import (  # noqa: E402
    SingleObjectiveBaseSearcher,
)

from .._logging import get_logger  # noqa: E402
from ..exceptions import InvalidArchitectureError, SpaceMismatchError  # noqa: E402
from ..predictors.meta_predictor import MetaPredictor  # noqa: E402
from ..search.proposer import MetaNASProposer, SpaceExhaustedError  # noqa: E402
from ..spaces import get_space  # noqa: E402
from ..spaces._base import Architecture, SearchSpace  # noqa: E402

__all__ = ["MetaNASSyneSearcher"]
_log = get_logger(__name__)


class MetaNASSyneSearcher(SingleObjectiveBaseSearcher):
    """Syne Tune searcher proposing architectures with the adapted meta-predictor.

    Args:
        config_space: Syne Tune config space (``syne_config_space(space)``, plus any constants).
        space: The search space (object or registered name).
        predictor: A :class:`~nas_meta_tune.predictors.MetaPredictor` (default: the shipped one).
        points_to_evaluate: Configurations to evaluate first.
        random_seed: Seed of the proposer.
        **proposer_kwargs: See :class:`~nas_meta_tune.search.MetaNASProposer`.
    """

    def __init__(
        self,
        config_space: dict[str, Any],
        *,
        space: SearchSpace | str,
        predictor: MetaPredictor | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        random_seed: int | None = None,
        **proposer_kwargs: Any,
    ) -> None:
        super().__init__(
            config_space, points_to_evaluate=points_to_evaluate, random_seed=random_seed
        )
        self._space = get_space(space)
        names = {p.name for p in self._space.params}
        missing = names - set(config_space)
        if missing:
            raise SpaceMismatchError(
                f"config_space lacks the architecture parameters {sorted(missing)}.",
                space=self._space.name,
            )
        self._constants = {
            k: v for k, v in config_space.items() if k not in names and not hasattr(v, "sample")
        }
        # other search domains (e.g. a learning rate) are drawn at random: this searcher models
        # architectures only
        self._domains = {
            k: v for k, v in config_space.items() if k not in names and hasattr(v, "sample")
        }
        self._proposer = MetaNASProposer(
            self._space, predictor, seed=self.random_seed, **proposer_kwargs
        )
        self._history: list[tuple[Architecture, float]] = []
        self._dead: list[Architecture] = []
        self._pending: dict[str, Architecture] = {}

    def _arch(self, config: dict[str, Any]) -> Architecture:
        try:
            return self._space.from_params(config)
        except InvalidArchitectureError as exc:
            raise SpaceMismatchError(
                f"configuration does not belong to the space: {exc}", space=self._space.name
            ) from exc

    def suggest(self, **kwargs: Any) -> dict[str, Any] | None:
        config = self._next_points_to_evaluate()
        if config is not None:
            arch = self._arch(config)
        else:
            try:
                arch = self._proposer.propose_robust(
                    self._history, [*self._dead, *self._pending.values()]
                )[0]
            except SpaceExhaustedError:
                return None
            rs = np.random.RandomState(
                [self.random_seed, len(self._history) + len(self._dead) + len(self._pending)]
            )
            config = {
                **self._constants,
                **{k: v.sample(random_state=rs) for k, v in self._domains.items()},
                # every key, inactive conditional ones too: Syne's config spaces are flat
                **self._space.full_params(arch),
            }
        self._pending[arch.key] = arch
        return config

    def on_trial_complete(self, trial_id: int, config: dict[str, Any], metric: float) -> None:
        arch = self._arch(config)
        self._pending.pop(arch.key, None)
        try:
            value = float(metric)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            _log.warning(
                "MetaNASSyneSearcher: trial %s reported %r; not used for adaptation.",
                trial_id,
                metric,
            )
            self._dead.append(arch)
            return
        self._history.append((arch, -value))  # Syne hands over a metric to minimise

    def on_trial_error(self, trial_id: int) -> None:
        # Syne does not pass the config here; the pending architecture is kept out of proposals
        _log.warning("MetaNASSyneSearcher: trial %s failed.", trial_id)

    @property
    def history(self) -> list[tuple[Architecture, float]]:
        """Evaluated ``(architecture, score)`` pairs, score higher = better."""
        return list(self._history)
