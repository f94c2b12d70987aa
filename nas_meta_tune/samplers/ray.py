"""``MetaNASSearch``: the meta-predictor NAS proposer as a Ray Tune searcher.

Usage::

    space = get_space("nasbench_graph")
    tuner = tune.Tuner(
        trainable,                                         # reads config -> space.from_params(config)
        tune_config=tune.TuneConfig(
            search_alg=MetaNASSearch(space, metric="valid", mode="max", seed=0),
            num_samples=50,                                # metric/mode given to the searcher itself
        ),
    )

Configs are flat dicts of the space's parameters (as in ``ray_param_space(space)``), so trainables use
``space.from_params(config)``; other keys of ``param_space`` pass through unchanged. Live trials are
pending (never proposed again); a trial that ends with an error or without a finite metric is
recorded as evaluated without a score (not proposed again, not used for adaptation). Trials
stopped early by a scheduler report their last value, which is used as is. ``save``/``restore``
keep the history, so a restored ``Tuner`` continues where it stopped and never repeats an
architecture. Works under ``ConcurrencyLimiter``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .._imports import require

require("ray.tune", feature="MetaNASSearch")

from ray.tune.search import Searcher  # noqa: E402

from .._logging import get_logger  # noqa: E402
from .._state import read_state, write_state  # noqa: E402
from ..exceptions import InvalidArchitectureError, SpaceMismatchError  # noqa: E402
from ..predictors.meta_predictor import MetaPredictor  # noqa: E402
from ..search.proposer import MetaNASProposer, SpaceExhaustedError  # noqa: E402
from ..spaces import get_space  # noqa: E402
from ..spaces._base import Architecture, SearchSpace  # noqa: E402

__all__ = ["MetaNASSearch"]
_log = get_logger(__name__)


def _is_plain(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class MetaNASSearch(Searcher):
    """Ray Tune ``Searcher`` proposing architectures with the adapted meta-predictor.

    Args:
        space: The search space (object or registered name).
        predictor: A :class:`~nas_meta_tune.predictors.MetaPredictor` (default: the shipped one).
        metric, mode: The metric to optimise and ``"min"``/``"max"`` (or set by the Tuner).
        seed: Seed of the proposer.
        points_to_evaluate: Architectures (or param dicts / official strings) to try first.
        **proposer_kwargs: ``acquisition``, ``beta``, ``max_history``, ... of
            :class:`~nas_meta_tune.search.MetaNASProposer`.
    """

    def __init__(
        self,
        space: SearchSpace | str,
        predictor: MetaPredictor | None = None,
        *,
        metric: str | None = None,
        mode: str | None = None,
        seed: int | None = None,
        points_to_evaluate: list[Any] | None = None,
        **proposer_kwargs: Any,
    ) -> None:
        if mode not in (None, "min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', but got {mode=}.")
        super().__init__(metric=metric, mode=mode)
        self._space = get_space(space)
        self._proposer = MetaNASProposer(self._space, predictor, seed=seed, **proposer_kwargs)
        self._history: list[tuple[Architecture, float]] = []
        self._no_score: list[Architecture] = []
        self._live: dict[str, Architecture] = {}
        self._first: list[Architecture] = self._space.archs(points_to_evaluate or [])
        self._constants: dict[str, Any] = {}
        self._domains: dict[str, Any] = {}
        self._seed = 0 if seed is None else int(seed)

    @property
    def space(self) -> SearchSpace:
        return self._space

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict, **spec: Any
    ) -> bool:
        if metric is not None:
            self._metric = metric
        if mode is not None:
            if mode not in ("min", "max"):
                raise ValueError(f"mode must be 'min' or 'max', but got {mode=}.")
            self._mode = mode
        names = {p.name for p in self._space.params}
        # keys of param_space that are not architecture parameters are passed through
        self._constants = {
            k: v for k, v in (config or {}).items() if k not in names and not hasattr(v, "sample")
        }
        # other search domains (e.g. a learning rate): drawn at random, this searcher models
        # architectures only
        self._domains = {
            k: v for k, v in (config or {}).items() if k not in names and hasattr(v, "sample")
        }
        return True

    def suggest(self, trial_id: str) -> dict | None:
        if not self._metric or not self._mode:
            raise ValueError(
                "MetaNASSearch needs metric and mode: pass MetaNASSearch(space, metric=..., mode=...) "
                "(Ray Tune forwards TuneConfig's metric/mode to a searcher only when param_space is given)."
            )
        if self._first:
            arch = self._first.pop(0)
        else:
            try:
                arch = self._proposer.propose_robust(
                    self._history, [*self._no_score, *self._live.values()]
                )[0]
            except SpaceExhaustedError:
                _log.warning("MetaNASSearch: every architecture was evaluated; stopping.")
                return Searcher.FINISHED
        self._live[trial_id] = arch
        return {
            **self._constants,
            **self._sample_domains(),
            **self._space.full_params(arch),  # inactive conditional keys too: Ray has no conditions
        }

    def _sample_domains(self) -> dict[str, Any]:
        if not getattr(self, "_domains", None):
            return {}
        n = len(self._history) + len(self._no_score) + len(self._live)
        rs = np.random.RandomState([self._seed, n])  # reproducible, and the same after a restore
        return {k: v.sample(random_state=rs) for k, v in self._domains.items()}

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        return None

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        arch = self._live.pop(trial_id, None)
        if arch is None:
            return
        value = None if (error or not result) else result.get(self._metric)
        try:
            value = float(value) if value is not None else None
        except (TypeError, ValueError):
            value = None
        if value is None or not math.isfinite(value):
            if not error:
                _log.warning(
                    "MetaNASSearch: trial %s ended without a finite %r; not used for adaptation.",
                    trial_id,
                    self._metric,
                )
            self._no_score.append(arch)
            return
        self._history.append((arch, value if self._mode == "max" else -value))

    def add_evaluated_point(
        self,
        parameters: dict,
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: Any = None,
    ) -> None:
        try:
            arch = self._space.from_params(parameters)
        except InvalidArchitectureError as exc:
            raise SpaceMismatchError(
                f"evaluated point does not belong to the space: {exc}", space=self._space.name
            ) from exc
        if error or value is None or not math.isfinite(float(value)):
            self._no_score.append(arch)
        elif self._mode is None:
            raise ValueError(
                "MetaNASSearch.add_evaluated_point needs the mode ('min' or 'max') first: pass "
                "MetaNASSearch(..., mode=...) (a later set_search_properties cannot re-sign it)."
            )
        else:
            self._history.append((arch, float(value) if self._mode == "max" else -float(value)))

    @property
    def history(self) -> list[tuple[Architecture, float]]:
        """Evaluated ``(architecture, score)`` pairs, score higher = better."""
        return list(self._history)

    def get_state(self) -> dict:
        return {
            "space": self._space.name,
            "metric": self._metric,
            "mode": self._mode,
            "history": [(a.to_params(), s) for a, s in self._history],
            "no_score": [a.to_params() for a in self._no_score],
            "live": {k: a.to_params() for k, a in self._live.items()},
            "first": [a.to_params() for a in self._first],
            "constants": self._constants,
            "domains": self._domains,
            "proposer": self._proposer.state(),
        }

    def set_state(self, state: dict) -> None:
        if state["space"] != self._space.name:
            raise SpaceMismatchError(
                f"checkpoint is for space {state['space']!r}, not {self._space.name!r}.",
                space=self._space.name,
            )
        f = self._space.from_params
        # a checkpoint saved before metric/mode were known does not erase them
        self._metric = state["metric"] if state["metric"] is not None else self._metric
        self._mode = state["mode"] if state["mode"] is not None else self._mode
        self._history = [(f(p), s) for p, s in state["history"]]
        # trials live at save time are re-run by Tune; they stay pending until they report
        self._no_score = [f(p) for p in state["no_score"]]
        self._live = {k: f(p) for k, p in state["live"].items()}
        self._first = [f(p) for p in state["first"]]
        self._constants = {**self._constants, **state.get("constants", {})}
        self._domains = state.get("domains", self._domains)
        self._proposer.set_state(state["proposer"])

    def save(self, checkpoint_path: str) -> None:
        """Write the state as a JSON checkpoint (atomically; no pickle). The search domains of
        ``param_space`` are not saved: Tune hands them again through
        :meth:`set_search_properties`."""
        state = self.get_state()
        state.pop("domains")
        state["constants"] = {k: v for k, v in state["constants"].items() if _is_plain(v)}
        write_state(checkpoint_path, "MetaNASSearch", state)

    def restore(self, checkpoint_path: str) -> None:
        """Load a checkpoint written by :meth:`save` (JSON only: a pickle is refused)."""
        self.set_state(read_state(checkpoint_path, "MetaNASSearch"))
