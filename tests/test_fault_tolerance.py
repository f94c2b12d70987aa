"""A worker killed mid-trial loses nothing: three processes share one Optuna study, MetaNASSampler
proposes NAS-Bench-Graph cells, each trial really trains its GNN on Cora for a few epochs under an
LCExtrapolationPruner, and one worker is SIGKILLed in the middle of a trial.

Storages: RDB on SQLite and on a real PostgreSQL server (Optuna's heartbeats with
RetryFailedTrialCallback), and JournalStorage on a shared file (no server, no native heartbeat:
:class:`~nas_meta_tune.integrations.heartbeat.TrialHeartbeat` does the same job)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

optuna = pytest.importorskip("optuna")

from nas_meta_tune import get_space  # noqa: E402
from nas_meta_tune.samplers import MetaNASSampler  # noqa: E402

# minutes of real training, real clusters or real processes: deselect with -m "not slow"
pytestmark = pytest.mark.slow

EPOCHS = 4
# seconds without a heartbeat before a trial is failed: a live worker's heartbeat thread can stall
# for a few seconds on a loaded 2-core machine (3 s failed a live trial there once)
GRACE = 10
WORKER = textwrap.dedent(
    """
    import sys, time, optuna
    from optuna.storages import RDBStorage, RetryFailedTrialCallback
    from nas_meta_tune import get_space
    from nas_meta_tune.integrations.objectives import gnn_objective
    from nas_meta_tune.samplers import MetaNASSampler
    from nas_meta_tune.schedulers import LCExtrapolationPruner

    kind, GRACE = sys.argv[6], int(sys.argv[7])
    url, worker, n_trials, epochs, data_root = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if kind == "journal":
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend
        from nas_meta_tune.integrations.heartbeat import TrialHeartbeat
        storage = JournalStorage(JournalFileBackend(url))
        wrap = TrialHeartbeat(interval=1, grace_period=GRACE, max_retry=1).wrap
    else:
        storage = RDBStorage(url, heartbeat_interval=1, grace_period=GRACE,
                             failed_trial_callback=RetryFailedTrialCallback(max_retry=1))
        wrap = lambda f: f
    space = get_space("nasbench_graph")
    study = optuna.create_study(study_name="ft", storage=storage, direction="maximize", load_if_exists=True,
                                sampler=MetaNASSampler(space, seed=worker),
                                pruner=LCExtrapolationPruner(max_step=epochs, min_step=2, value_range=(0, 100)))
    train = gnn_objective("cora", epochs=epochs, space=space, data_root=data_root)

    def objective(trial):
        trial.set_user_attr("worker", worker)
        return train(trial)

    study.optimize(wrap(objective), n_trials=n_trials)
    """
)


def _keys(trials, space):
    return [
        space.from_params({k: v for k, v in t.params.items() if k in space.param_names}).key
        for t in trials
    ]


def _storage(kind, url):
    if kind == "journal":
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(url))
    return url


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "journal"])
def test_killed_worker_is_retried_and_nothing_is_lost(kind, data_root, tmp_path, request):
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'ft.db'}"
    elif kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = str(tmp_path / "ft.journal")
    optuna.create_study(study_name="ft", storage=_storage(kind, url), direction="maximize")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                url,
                str(i),
                "4",
                str(EPOCHS),
                str(data_root),
                kind,
                str(GRACE),
            ],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    killed = None
    deadline = time.time() + 240
    while killed is None and time.time() < deadline:
        study = optuna.load_study(study_name="ft", storage=_storage(kind, url))
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            if t.user_attrs.get("worker") == 0 and len(t.intermediate_values) >= 1:
                procs[0].send_signal(signal.SIGKILL)
                killed = t.number
                break
        time.sleep(0.2)
    assert killed is not None, "worker 0 never reached the middle of a trial"
    for p in procs[1:]:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
    procs[0].wait(timeout=10)
    # the survivors detect the stale trial when they start a trial after its grace period; if they
    # finished first (fast training), the next worker to start would: do that check here
    time.sleep(GRACE + 1)
    if kind == "journal":
        from nas_meta_tune.integrations.heartbeat import TrialHeartbeat

        study = optuna.load_study(study_name="ft", storage=_storage(kind, url))
        TrialHeartbeat(interval=1, grace_period=GRACE, max_retry=1).fail_stale_trials(study)
    else:
        from optuna.storages import RDBStorage, RetryFailedTrialCallback, fail_stale_trials

        storage = RDBStorage(
            url,
            heartbeat_interval=1,
            grace_period=GRACE,
            failed_trial_callback=RetryFailedTrialCallback(max_retry=1),
        )
        fail_stale_trials(optuna.load_study(study_name="ft", storage=storage))

    study = optuna.load_study(study_name="ft", storage=_storage(kind, url))
    trials = {t.number: t for t in study.trials}
    assert trials[killed].state == optuna.trial.TrialState.FAIL  # the stale heartbeat made it FAIL
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].params == trials[killed].params
    assert retries[0].state in (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
        optuna.trial.TrialState.WAITING,
    )
    finished = [
        t
        for t in study.trials
        if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    ]
    assert len(finished) >= 8  # the two surviving workers ran their 4 trials each
    assert all(t.value is not None for t in finished if t.state == optuna.trial.TrialState.COMPLETE)
    # no architecture evaluated twice, except the retry of the killed trial
    space = get_space("nasbench_graph")
    not_retry = [
        t
        for t in study.trials
        if t.state != optuna.trial.TrialState.WAITING and "failed_trial" not in t.system_attrs
    ]
    assert len(set(_keys(not_retry, space))) == len(not_retry)
    # a fresh process rebuilds the same history from storage
    history, pending = MetaNASSampler(space).history(study)
    assert {a.key for a, _ in history} == set(
        _keys([t for t in finished if t.intermediate_values or t.value is not None], space)
    )
