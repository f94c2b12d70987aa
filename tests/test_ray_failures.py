"""Ray Tune trials that raise: retried per ``FailureConfig``, and MetaNASSearch handles the ones that
still fail (no score, never suggested again) while the tuner keeps going."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("ray")

from ray import tune  # noqa: E402

from nas_meta_tune import load_benchmark  # noqa: E402
from nas_meta_tune.samplers import MetaNASSearch  # noqa: E402

# minutes of real training, real clusters or real processes: deselect with -m "not slow"
pytestmark = pytest.mark.slow

N_TRIALS = 6
ALWAYS_FAILS = 4  # the fifth trial raises on every attempt


def test_trial_errors_are_retried_and_the_searcher_records_them(ray_cluster, tmp_path):
    bench = load_benchmark("nasbench_graph")
    space = bench.space
    markers = tmp_path / "attempts"
    markers.mkdir()

    def trainable(config):
        # trials are numbered in the order they first start; a retry keeps its number
        trial_id = tune.get_context().get_trial_id()
        own = Path(config["markers"]) / f"trial_{trial_id}"
        if own.exists():
            index, attempt = (int(v) for v in own.read_text().split())
        else:
            index, attempt = 0, 0
            while True:
                try:
                    os.close(
                        os.open(Path(config["markers"]) / f"index_{index}", os.O_CREAT | os.O_EXCL)
                    )
                    break
                except FileExistsError:
                    index += 1
        attempt += 1
        own.write_text(f"{index} {attempt}")
        if index == ALWAYS_FAILS or (index % 3 == 1 and attempt == 1):
            raise RuntimeError(f"simulated worker crash in trial {index}, attempt {attempt}")
        acc = bench.query(space.from_params(config), "cora")
        tune.report({"acc": acc, "attempt": attempt, "index": index})

    searcher = MetaNASSearch(space, metric="acc", mode="max", seed=0)
    results = tune.Tuner(
        trainable,
        param_space={"markers": str(markers)},
        tune_config=tune.TuneConfig(
            search_alg=searcher, num_samples=N_TRIALS, max_concurrent_trials=2
        ),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path / "ray"),
            failure_config=tune.FailureConfig(max_failures=1),
            verbose=0,
        ),
    ).fit()

    assert len(results) == N_TRIALS
    assert len(results.errors) == 1  # only the trial that fails on every attempt
    done = sorted((r.metrics for r in results if r.error is None), key=lambda m: m["index"])
    assert [m["index"] for m in done] == [i for i in range(N_TRIALS) if i != ALWAYS_FAILS]
    # trials that crashed once were retried with the same config and finished on attempt 2
    assert all(m["attempt"] == (2 if m["index"] % 3 == 1 else 1) for m in done)
    attempts = dict(tuple(int(v) for v in f.read_text().split()) for f in markers.glob("trial_*"))
    assert attempts[ALWAYS_FAILS] == 2  # tried, retried once, then given up
    keys = [space.from_params(r.config).key for r in results]
    assert len(set(keys)) == N_TRIALS  # a retry is not a new suggestion; nothing suggested twice
    # the searcher in this driver saw every trial end: 5 scores, 1 error kept as "no score"
    assert len(searcher.history) == N_TRIALS - 1
    scored, pending = searcher.session.history()
    assert {a.key for a, _ in scored} | {a.key for a in pending} == set(keys)
    assert not searcher.session.live
