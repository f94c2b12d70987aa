"""A Ray Tune job (MetaNASSearch + LCExtrapolationScheduler, real GNN training on Cora) whose driver
is SIGKILLed mid-run resumes with ``Tuner.restore``: the searcher and scheduler come back, the run
reaches the number of trials asked, and no architecture is suggested twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

# minutes of real training, real clusters or real processes: deselect with -m "not slow"
pytestmark = pytest.mark.slow

pytest.importorskip("ray")

N_TRIALS = 5
DRIVER = textwrap.dedent(
    """
    import json, os, sys
    import ray
    from ray import tune
    from nas_meta_tune import get_space
    from nas_meta_tune.integrations.trainables import gnn_trainable
    from nas_meta_tune.samplers import MetaNASSearch
    from nas_meta_tune.schedulers import LCExtrapolationScheduler

    mode, storage, data_root, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    space = get_space("nasbench_graph")
    trainable = tune.with_parameters(gnn_trainable)
    if mode == "fresh":
        tuner = tune.Tuner(
            trainable,
            param_space={"dataset": "cora", "epochs": 3, "data_root": data_root},
            tune_config=tune.TuneConfig(
                metric="valid_acc", mode="max", num_samples=N_TRIALS, max_concurrent_trials=1,
                search_alg=MetaNASSearch(space, seed=0),
                scheduler=LCExtrapolationScheduler(max_t=3, time_attr="epoch", grace_period=2, value_range=(0, 100)),
            ),
            run_config=tune.RunConfig(name="restore", storage_path=storage, verbose=0),
        )
    else:
        tuner = tune.Tuner.restore(os.path.join(storage, "restore"), trainable=trainable, resume_unfinished=True)
    results = tuner.fit()
    archs = [space.from_params(r.config).key for r in results]
    json.dump({"archs": archs, "errors": len(results.errors), "n": len(results)}, open(out, "w"))
    """
).replace("N_TRIALS", str(N_TRIALS))


def _finished_trials(storage: str) -> int:
    """Trials of the experiment with a final result on disk (the driver writes result.json per trial)."""
    root = os.path.join(storage, "restore")
    if not os.path.isdir(root):
        return 0
    n = 0
    for d in os.listdir(root):
        f = os.path.join(root, d, "result.json")
        if os.path.isfile(f) and sum(1 for _ in open(f)) >= 1:
            n += 1
    return n


def test_killed_driver_resumes_with_tuner_restore(data_root, tmp_path):
    storage, out = str(tmp_path / "ray"), str(tmp_path / "out.json")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_AIR_NEW_OUTPUT": "0"}
    env.pop("RAY_ADDRESS", None)
    # its own session: the kill below takes the driver and the local Ray cluster it started, and
    # nothing else (the test session's own cluster keeps running)
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, "fresh", storage, str(data_root), out],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while _finished_trials(storage) < 2 and time.time() < deadline and driver.poll() is None:
        time.sleep(0.5)
    assert driver.poll() is None, (
        "the run ended before it could be interrupted: " + driver.stderr.read()[-2000:]
    )
    time.sleep(3)  # let the driver write its experiment checkpoint
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(timeout=30)
    assert not os.path.exists(out)

    resumed = subprocess.run(
        [sys.executable, "-c", DRIVER, "restore", storage, str(data_root), out],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    res = json.load(open(out))
    assert res["n"] == N_TRIALS and res["errors"] == 0
    assert len(set(res["archs"])) == N_TRIALS, (
        "an architecture was suggested twice across the restore"
    )
