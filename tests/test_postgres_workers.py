"""Many workers on one Optuna study in PostgreSQL.

Eight worker processes share one study on a real PostgreSQL server, all with MetaNASSampler and
the same seed (with an empty history every worker's first proposal is the same: the claims must
settle it), until the study has ``TOTAL`` complete trials. One worker is SIGKILLed in the middle
of a trial: the seven others reach the budget, Optuna's heartbeat fails the lost trial and a
survivor runs its retry, and no architecture is completed twice. The race itself is reproduced deterministically in one process by the second test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

optuna = pytest.importorskip("optuna")

from optuna.trial import TrialState  # noqa: E402

from nas_meta_tune import get_space  # noqa: E402
from nas_meta_tune.samplers import MetaNASSampler  # noqa: E402

WORKERS = 8
TOTAL = 48  # completed trials the study runs to
WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import optuna
    from optuna.storages import RDBStorage, RetryFailedTrialCallback
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState
    from nas_meta_tune import load_benchmark
    from nas_meta_tune.samplers import MetaNASSampler

    url, worker, total, marker = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bench = load_benchmark("nasbench_graph")
    storage = RDBStorage(url, heartbeat_interval=1, grace_period=5,
                         failed_trial_callback=RetryFailedTrialCallback(max_retry=1))
    study = optuna.load_study(study_name="pg", storage=storage,
                              sampler=MetaNASSampler(bench.space, seed=0))

    def objective(trial):
        trial.set_user_attr("worker", worker)
        arch = bench.space.suggest(trial)
        if worker == 0:
            marker.write_text(str(trial.number))
            time.sleep(600)  # killed here, mid-trial
        time.sleep(1.0)  # "training"
        return bench.query(arch, "cora")

    # every worker runs trials until the study has `total` complete ones
    study.optimize(objective, timeout=400,
                   callbacks=[MaxTrialsCallback(total, states=(TrialState.COMPLETE,))])
    """
)


def _key(trial, space):
    return space.from_params({k: v for k, v in trial.params.items() if k in space.param_names}).key


@pytest.mark.slow  # minutes of real processes: deselect with -m "not slow"
def test_eight_workers_on_postgres_one_killed(postgres_url, tmp_path):
    optuna.create_study(study_name="pg", storage=postgres_url, direction="maximize")
    marker = tmp_path / "killed_trial"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, postgres_url, str(i), str(TOTAL), str(marker)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WORKERS)
    ]
    try:
        deadline = time.time() + 240
        while not marker.exists() and time.time() < deadline and procs[0].poll() is None:
            time.sleep(0.1)
        assert marker.exists(), "worker 0 never started a trial: " + (
            procs[0].stderr.read()[-3000:] if procs[0].poll() is not None else ""
        )
        procs[0].send_signal(signal.SIGKILL)
        killed = int(marker.read_text())
        for p in procs[1:]:
            _, err = p.communicate(timeout=400)
            assert p.returncode == 0, err[-3000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=30)

    study = optuna.load_study(study_name="pg", storage=postgres_url)
    trials = {t.number: t for t in study.trials}
    # every trial finished: the killed one failed by its stale heartbeat, every other one
    # completed (nothing left running or waiting), and the study reached its budget without
    # worker 0
    assert trials[killed].state == TrialState.FAIL
    others = [t for n, t in trials.items() if n != killed]
    assert all(t.state == TrialState.COMPLETE for t in others), [t.state for t in others]
    assert len(others) >= TOTAL
    assert all(t.user_attrs["worker"] != 0 for t in others)
    # a survivor ran its retry: same architecture, now complete
    (retry,) = [t for t in others if t.system_attrs.get("failed_trial") == killed]
    assert retry.params == trials[killed].params
    # each trial ran the architecture it claimed (the claim is what the other workers avoided)
    space = get_space("nasbench_graph")
    for t in others:
        assert space.from_string(t.system_attrs["nas_meta_tune:proposal"]).key == _key(t, space)
    # no architecture completed twice, though all eight workers started from the same proposal
    keys = [_key(t, space) for t in others]
    dups = sorted({k for k in keys if keys.count(k) > 1})
    assert not dups, f"architectures completed twice: {dups}"


def test_first_worker_to_propose_is_not_the_first_to_claim():
    """The race behind duplicates seen with eight workers on PostgreSQL, made deterministic.

    Worker A creates trial 0 and reads the study while no other trial runs, so it asks its
    proposer for one architecture only; that first proposal is slow (it embeds the space).
    Meanwhile worker B creates trial 1, sees trial 0 running (no claim yet), ranks a batch with
    the same architecture first, claims it and sees no rival. When A claims it, A sees B's claim
    but has no other candidate to move to, so both trials run the same architecture.
    """
    import threading

    from nas_meta_tune.predictors import MetaPredictor

    space, predictor = get_space("nasbench_graph"), MetaPredictor.pretrained()
    same = {"seed": 0, "initial": "mean"}  # the first proposal: the zero-shot best
    first = MetaNASSampler(space, predictor, **same).proposer.propose_robust([], [], n=1)[0]
    storage = optuna.storages.InMemoryStorage()
    study_a = optuna.create_study(
        storage=storage, direction="maximize", sampler=MetaNASSampler(space, predictor, **same)
    )
    study_b = optuna.load_study(
        study_name=study_a.study_name,
        storage=storage,
        sampler=MetaNASSampler(space, predictor, **same),
    )
    a_proposing, b_claimed, got = threading.Event(), threading.Event(), {}
    propose_a, propose_b = (
        study_a.sampler.proposer.propose_robust,
        study_b.sampler.proposer.propose_robust,
    )

    def slow(*args, **kwargs):
        a_proposing.set()  # A has read the study: no other trial was running
        b_claimed.wait(timeout=60)
        return propose_a(*args, **kwargs)

    def same_first(*args, **kwargs):  # B ranks A's proposal first (as its proposer may)
        ranked = propose_b(*args, **kwargs)
        return [first, *(a for a in ranked if a.key != first.key)][: len(ranked)]

    study_a.sampler.proposer.propose_robust = slow
    study_b.sampler.proposer.propose_robust = same_first
    trial_a = study_a.ask()  # trial 0
    worker_a = threading.Thread(target=lambda: got.setdefault(0, space.suggest(trial_a)))
    worker_a.start()
    assert a_proposing.wait(timeout=60)
    trial_b = study_b.ask()  # trial 1
    got[1] = space.suggest(trial_b)
    b_claimed.set()
    worker_a.join(timeout=60)
    assert got[1].key == first.key
    assert got[0].key != got[1].key
