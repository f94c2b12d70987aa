"""TrialHeartbeat: heartbeats and stale-trial recovery on a storage without native heartbeats
(JournalStorage on a file), in one process."""

from __future__ import annotations

import time

import pytest

optuna = pytest.importorskip("optuna")

from optuna.storages import JournalStorage, RetryFailedTrialCallback  # noqa: E402
from optuna.storages.journal import JournalFileBackend  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from nas_meta_tune.integrations.heartbeat import HEARTBEAT_KEY, TrialHeartbeat  # noqa: E402


@pytest.fixture
def study(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "study.log")))
    return optuna.create_study(storage=storage, study_name="hb")


def _orphan(study):
    """A RUNNING trial whose worker has gone (asked, given a parameter, never told)."""
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    trial.report(0.5, step=1)
    return trial


def test_stale_trial_is_failed_and_retried_once(study):
    hb = TrialHeartbeat(interval=0.05, grace_period=0.2, max_retry=1)
    orphan = _orphan(study)
    assert hb.fail_stale_trials(study) == []  # still within its grace period
    time.sleep(0.3)
    assert hb.fail_stale_trials(study) == [orphan.number]
    assert hb.fail_stale_trials(study) == []  # already finished: nothing twice
    trials = study.get_trials()
    assert trials[orphan.number].state == TrialState.FAIL
    (retry,) = [t for t in trials if t.state == TrialState.WAITING]
    assert retry.params == trials[orphan.number].params
    assert RetryFailedTrialCallback.retried_trial_number(retry) == orphan.number
    assert retry.intermediate_values == {}
    # the retry is what the next ask pops; when it too goes stale, max_retry=1 stops the chain
    again = study.ask()
    assert again.number == retry.number and again.params == retry.params
    time.sleep(0.3)
    assert hb.fail_stale_trials(study) == [again.number]
    assert not [t for t in study.get_trials() if t.state == TrialState.WAITING]


def test_inherit_intermediate_values_and_no_retry(study):
    orphan = _orphan(study)
    time.sleep(0.3)
    TrialHeartbeat(0.05, 0.2, inherit_intermediate_values=True).fail_stale_trials(study)
    (retry,) = study.get_trials(states=(TrialState.WAITING,))
    assert retry.intermediate_values == {1: 0.5}
    orphan2 = _orphan(study)  # pops the retry
    assert orphan2.number == retry.number
    time.sleep(0.3)
    assert TrialHeartbeat(0.05, 0.2, max_retry=0).fail_stale_trials(study) == [orphan2.number]
    assert not study.get_trials(states=(TrialState.WAITING,))
    assert orphan.number != orphan2.number


@pytest.mark.slow
def test_wrapped_objective_beats_while_it_runs_and_is_never_failed(study):
    hb = TrialHeartbeat(interval=0.05, grace_period=0.5, max_retry=1)
    beats = []

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        for _ in range(8):  # runs 3 grace periods: only the heartbeat keeps it alive
            time.sleep(0.2)
            beats.append(study.get_trials()[trial.number].system_attrs.get(HEARTBEAT_KEY))
            assert hb.fail_stale_trials(study) == []
        return x

    study.optimize(hb.wrap(objective), n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert None not in beats and len(set(beats)) > 3  # the attribute kept moving


def test_a_pruned_or_failing_objective_still_stops_its_heartbeat(study):
    hb = TrialHeartbeat(interval=0.05, grace_period=0.2)

    def objective(trial):
        trial.suggest_float("x", 0.0, 1.0)
        raise optuna.TrialPruned()

    study.optimize(hb.wrap(objective), n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.PRUNED] * 2
    n_attrs = [dict(t.system_attrs) for t in study.trials]
    time.sleep(0.2)
    assert [dict(t.system_attrs) for t in study.get_trials()] == n_attrs  # no beats after the end


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"interval": 0}, "interval"),
        ({"interval": float("nan")}, "interval"),
        ({"interval": 5, "grace_period": 5}, "grace_period"),
        ({"interval": 1, "max_retry": -1}, "max_retry"),
    ],
)
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrialHeartbeat(**kwargs)
