"""Trial heartbeats and stale-trial recovery for Optuna storages that have none.

Optuna's own heartbeat (``RDBStorage(heartbeat_interval=..., failed_trial_callback=...)``) exists
only for RDB storages. A worker killed mid-trial on a ``JournalStorage`` (a shared log file, no
server) leaves its trial RUNNING forever: the study never learns that the trial died, and the
budget it stood for is lost. :class:`TrialHeartbeat` gives any storage the same behaviour:

- while a wrapped objective runs, a daemon thread writes the time into the trial's system
  attribute ``nas_meta_tune:heartbeat`` every ``interval`` seconds;
- before each wrapped trial starts, RUNNING trials whose last heartbeat (or, before the first
  one, start time) is older than ``grace_period`` are set to FAIL, and each is retried once as a
  WAITING trial with the same parameters, exactly as Optuna's ``RetryFailedTrialCallback`` does
  (same ``failed_trial`` / ``retry_history`` system attributes, so
  ``RetryFailedTrialCallback.retried_trial_number`` works on them), up to ``max_retry`` times.

When two workers see the same stale trial, the storage lets only one of them finish it, and only
that one enqueues the retry. All workers of a study must use the heartbeat (a trial that never
beats looks stale once ``grace_period`` has passed since its start), and their clocks must agree
to well within ``grace_period``.

Requires ``pip install 'nas-meta-tune[optuna]'``.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._imports import require
from .._logging import get_logger

if TYPE_CHECKING:
    import optuna

__all__ = ["HEARTBEAT_KEY", "TrialHeartbeat"]

#: system attribute holding a trial's last heartbeat (seconds since the epoch)
HEARTBEAT_KEY = "nas_meta_tune:heartbeat"

_log = get_logger(__name__)


class TrialHeartbeat:
    """Heartbeats for the trials of a wrapped objective and recovery of stale ones.

    Example::

        storage = JournalStorage(JournalFileBackend("study.log"))
        study = optuna.create_study(storage=storage, study_name="nas", load_if_exists=True,
                                    sampler=MetaNASSampler(space))
        heartbeat = TrialHeartbeat(interval=10, grace_period=60, max_retry=1)
        study.optimize(heartbeat.wrap(objective), n_trials=100)

    Args:
        interval: Seconds between two heartbeats of a running trial.
        grace_period: A RUNNING trial whose last heartbeat is older than this is stale (default
            ``2 * interval``, as Optuna's RDB heartbeat). Must exceed ``interval``.
        max_retry: Retries of one original trial at most (``None``: no limit; ``0``: stale
            trials are failed but not retried).
        inherit_intermediate_values: Give the retry the failed trial's intermediate values.
    """

    def __init__(
        self,
        interval: float = 60.0,
        grace_period: float | None = None,
        *,
        max_retry: int | None = None,
        inherit_intermediate_values: bool = False,
    ) -> None:
        if not (isinstance(interval, (int, float)) and math.isfinite(interval) and interval > 0):
            raise ValueError(
                f"interval must be a positive number of seconds, but got {interval!r}."
            )
        grace = 2.0 * interval if grace_period is None else grace_period
        if not (isinstance(grace, (int, float)) and math.isfinite(grace) and grace > interval):
            raise ValueError(
                f"grace_period must be a number of seconds larger than interval={interval}, but got {grace!r}."
            )
        if max_retry is not None and (not isinstance(max_retry, int) or max_retry < 0):
            raise ValueError(f"max_retry must be None or an int >= 0, but got {max_retry!r}.")
        self.interval = float(interval)
        self.grace_period = float(grace)
        self.max_retry = max_retry
        self.inherit_intermediate_values = bool(inherit_intermediate_values)

    def __repr__(self) -> str:
        return (
            f"TrialHeartbeat(interval={self.interval}, grace_period={self.grace_period}, "
            f"max_retry={self.max_retry})"
        )

    # ------------------------------------------------------------------ recovery
    def _last_beat(self, trial: optuna.trial.FrozenTrial) -> float | None:
        beat = trial.system_attrs.get(HEARTBEAT_KEY)
        if isinstance(beat, (int, float)) and math.isfinite(beat):
            return float(beat)
        if trial.datetime_start is None:
            return None
        start = trial.datetime_start
        if start.tzinfo is None:  # storages hand back naive local times
            start = start.astimezone()
        return start.timestamp()

    def fail_stale_trials(self, study: optuna.Study) -> list[int]:
        """Fail the study's stale RUNNING trials and enqueue their retries; their numbers."""
        optuna = require("optuna", feature="TrialHeartbeat")
        from optuna.exceptions import UpdateFinishedTrialError

        running = optuna.trial.TrialState.RUNNING
        now = time.time()
        failed = []
        for trial in study.get_trials(deepcopy=False, states=(running,)):
            beat = self._last_beat(trial)
            if beat is None or now - beat <= self.grace_period:
                continue
            try:
                study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
            except UpdateFinishedTrialError:
                continue  # another worker (or the trial itself) finished it first
            failed.append(trial.number)
            _log.warning(
                "trial %d: no heartbeat for %.0f s (grace period %.0f s); set to FAIL.",
                trial.number,
                now - beat,
                self.grace_period,
            )
            self._retry(study, trial)
        return failed

    def _retry(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        optuna = require("optuna", feature="TrialHeartbeat")
        history = [*trial.system_attrs.get("retry_history", []), trial.number]
        if self.max_retry is not None and len(history) > self.max_retry:
            return
        system_attrs = {k: v for k, v in trial.system_attrs.items() if k != HEARTBEAT_KEY}
        system_attrs["failed_trial"] = trial.system_attrs.get("failed_trial", trial.number)
        system_attrs["retry_history"] = history
        study.add_trial(
            optuna.trial.create_trial(
                state=optuna.trial.TrialState.WAITING,
                params=trial.params,
                distributions=trial.distributions,
                user_attrs=trial.user_attrs,
                system_attrs=system_attrs,
                intermediate_values=(
                    trial.intermediate_values if self.inherit_intermediate_values else None
                ),
            )
        )

    # ------------------------------------------------------------------ heartbeats
    def beat(self, trial: optuna.Trial) -> None:
        """Record a heartbeat of ``trial`` now."""
        trial.storage.set_trial_system_attr(trial._trial_id, HEARTBEAT_KEY, time.time())

    def _beat_until(self, trial: optuna.Trial, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                self.beat(trial)
            except Exception as err:  # finished or storage unreachable: the trial decides
                _log.debug("trial %d: heartbeat stopped (%s)", trial.number, err)
                return

    def wrap(self, objective: Callable[[optuna.Trial], Any]) -> Callable[[optuna.Trial], Any]:
        """``objective`` with stale-trial recovery before and heartbeats while it runs."""

        @functools.wraps(objective)
        def wrapped(trial: optuna.Trial) -> Any:
            self.fail_stale_trials(trial.study)
            self.beat(trial)
            stop = threading.Event()
            thread = threading.Thread(
                target=self._beat_until,
                args=(trial, stop),
                name="nas-meta-tune-heartbeat",
                daemon=True,
            )
            thread.start()
            try:
                return objective(trial)
            finally:
                stop.set()
                thread.join()

        return wrapped
