"""Searcher/scheduler checkpoints are plain JSON written atomically; weights saves are atomic."""

from __future__ import annotations

import math
import pickle
import threading

import numpy as np
import pytest

from nas_meta_tune._state import read_state, write_state
from nas_meta_tune.integrations.ray import ray_param_space
from nas_meta_tune.predictors import MetaPredictor


def test_state_round_trip_keeps_nan_and_converts_numpy(tmp_path):
    path = tmp_path / "s.json"
    write_state(path, "Thing", {"a": np.float32(1.5), "b": [np.int64(3), float("nan")], 4: "x"})
    state = read_state(path, "Thing")
    assert state["a"] == 1.5 and state["b"][0] == 3 and math.isnan(state["b"][1])
    assert state["4"] == "x"  # JSON keys are strings
    with pytest.raises(ValueError, match="'Thing' checkpoint, not a 'Other'"):
        read_state(path, "Other")


def test_a_pickle_is_refused_not_loaded(tmp_path):
    path = tmp_path / "old.pkl"
    path.write_bytes(pickle.dumps({"history": []}))
    with pytest.raises(ValueError, match="unpickling can run"):
        read_state(path, "MetaNASSearch")


def test_concurrent_saves_to_one_path_leave_one_valid_file(tmp_path):
    predictor = MetaPredictor.pretrained()
    path = tmp_path / "w.pt"
    errors = []

    def save():
        try:
            for _ in range(3):
                predictor.save(path)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert MetaPredictor.load(path).n_adapted == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.pt"]  # no temporary file left


def test_ray_searcher_checkpoint_is_json(tmp_path):
    pytest.importorskip("ray")
    from ray import tune

    from nas_meta_tune import get_space
    from nas_meta_tune.samplers import MetaNASSearch

    space = get_space("nb201")
    searcher = MetaNASSearch(space, MetaPredictor.pretrained(), metric="acc", mode="max", seed=0)
    searcher.set_search_properties(
        None, None, {**ray_param_space(space), "lr": tune.uniform(0, 1), "k": 2}
    )
    config = searcher.suggest("t0")
    searcher.on_trial_complete("t0", {"acc": 70.0})
    path = tmp_path / "searcher.json"
    searcher.save(str(path))
    assert path.read_bytes().startswith(b"{")
    fresh = MetaNASSearch(space, MetaPredictor.pretrained(), seed=0)
    fresh.set_search_properties("acc", "max", {**ray_param_space(space), "lr": tune.uniform(0, 1)})
    fresh.restore(str(path))
    assert [a.key for a, _ in fresh.history] == [space.from_params(config).key]
    assert fresh._constants["k"] == 2 and "lr" in fresh._domains  # domains come from Tune again
    assert fresh.session.state()["complete"] == searcher.session.state()["complete"]
    nxt = fresh.suggest("t1")
    assert space.from_params(nxt).key != space.from_params(config).key and 0 <= nxt["lr"] <= 1
