"""SearchSession and the score policy without any framework: the bookkeeping the three adapters
share (sign, pruned policy, failures, the split of a config, naming, checkpoints)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nas_meta_tune import get_space
from nas_meta_tune.exceptions import SpaceMismatchError
from nas_meta_tune.predictors import MetaPredictor
from nas_meta_tune.search import SearchSession
from nas_meta_tune.search.policy import combine_pruned, trial_score
from nas_meta_tune.search.shared import SharedHistory, TrialRecord


@pytest.fixture(scope="module")
def space():
    return get_space("nb201")


@pytest.fixture(scope="module")
def predictor():
    return MetaPredictor.pretrained()


class _Uniform:
    """A search domain as Ray Tune and Syne Tune have them: anything with ``sample``."""

    def sample(self, random_state):
        return float(random_state.uniform())


def test_trial_score_is_one_policy(space):
    assert trial_score("complete", 2.0, -1.0) == -2.0
    assert trial_score("pruned", 2.0, 1.0) == 2.0
    assert trial_score("pruned", 2.0, 1.0, use_pruned=False) is None
    assert trial_score("failed", 2.0, 1.0) is None
    for bad in (None, float("nan"), math.inf, "x"):
        assert trial_score("complete", bad, 1.0) is None
    with pytest.raises(ValueError, match="state must be one of"):
        trial_score("stopped", 1.0, 1.0)
    a, b, c = space.sample(3, seed=0)
    assert combine_pruned([(a, 1.0), (b, 3.0)], [(c, 5.0)])[-1] == (c, 2.0)  # capped at the median
    assert combine_pruned([], [(c, 5.0)]) == [(c, 5.0)]  # nothing complete: kept as it is


def test_session_and_shared_store_score_a_pruned_trial_alike(space, predictor):
    """Ray / Syne (events told to a session) and Optuna (a store read by SharedHistory) learn the
    same history from the same trials."""
    archs = space.sample(4, seed=1)
    outcomes = [("complete", 70.0), ("complete", 60.0), ("pruned", 50.0), ("failed", None)]
    session = SearchSession(space, predictor, mode="min", seed=0)
    for i, (arch, (state, value)) in enumerate(zip(archs, outcomes)):
        session.reserve(f"t{i}", arch)
        session.tell(f"t{i}", value, state=state)
    choices = {p.name: list(p.choices) for p in space.params}
    records = [
        TrialRecord(i, state, arch.to_params(), choices, value, None, {}, i)
        for i, (arch, (state, value)) in enumerate(zip(archs, outcomes))
    ]
    from_store, pending, _ = SharedHistory(space).read(records, sign=-1.0)
    from_events, dead = session.history()
    assert [(a.key, s) for a, s in from_events] == [(a.key, s) for a, s in from_store]
    # minimised: the pruned trial's -50 is capped at the median of -70 and -60
    assert (from_events[-1][0].key, from_events[-1][1]) == (archs[2].key, -65.0)
    assert [a.key for a in dead] == [a.key for a in pending] == [archs[3].key]


def test_the_mode_is_needed_before_a_value_and_not_for_a_failure(space, predictor):
    session = SearchSession(space, predictor, mode=None, owner="Adapter")
    arch = space.sample(1, seed=2)[0]
    session.reserve("t0", arch)
    with pytest.raises(ValueError, match="Adapter needs the mode"):
        session.tell("t0", 1.0)
    session.tell("t0", state="failed")
    history, pending = session.history()
    assert history == [] and [a.key for a in pending] == [arch.key]
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        SearchSession(space, predictor, mode="maximize")


def test_a_config_is_split_drawn_reproducibly_and_checkpointed(space, predictor):
    first = space.sample(3, seed=3)
    config = {**{p.name: None for p in space.params}, "lr": _Uniform(), "epochs": 5}
    session = SearchSession(space, predictor, seed=4, points_to_evaluate=first)
    session.set_config(config)
    got = [session.ask_config() for _ in range(2)]
    assert [space.from_params(c).key for c in got] == [a.key for a in first[:2]]
    assert all(c["epochs"] == 5 and 0 <= c["lr"] <= 1 for c in got)
    state = session.state()
    assert (state["asked"], state["constants"]) == (2, {"epochs": 5})
    again = SearchSession(space, predictor, seed=4)
    again.set_config({"lr": _Uniform()})
    again.set_state(state)
    nxt, ref = again.ask_config(), session.ask_config()
    assert nxt == ref  # the same draw after a restore: seeded by seed and the count asked
    with pytest.raises(SpaceMismatchError, match="lacks the architecture parameters"):
        session.set_config({"lr": _Uniform()}, require=True)


def test_bind_names_a_pending_trial_so_a_failure_finds_it(space, predictor):
    archs = space.sample(2, seed=5)
    session = SearchSession(space, predictor, points_to_evaluate=archs)
    session.set_config({})
    c0, c1 = session.ask_config(), session.ask_config()
    assert set(session.live) == {"ask-0", "ask-1"}
    session.bind(7, c1)
    assert set(session.live) == {"ask-0", "7"}
    session.tell(7, state="failed")
    session.tell(8, state="failed")  # never asked: nothing to record
    session.tell(None, 0.5, arch=c0)  # a framework that hands back the config, not the id
    history, pending = session.history()
    assert [a.key for a, _ in history] == [space.from_params(c0).key]
    assert [a.key for a in pending] == [space.from_params(c1).key] and not session.live
    assert np.isfinite([s for _, s in history]).all()


def test_infeasible_trials_rank_below_every_feasible_one(space):
    from nas_meta_tune.search.policy import penalise_infeasible, violation

    assert violation({}) == 0.0
    assert violation({"lat": -1.0, "0": [0.5, -2.0, 1.0]}) == 1.5  # old list format counts too
    with pytest.raises(ValueError, match="'lat' is NaN"):
        violation({"lat": float("nan")})
    a, b, c, d = space.sample(4, seed=1)
    scored = [(a, 1.0), (b, 3.0), (c, 9.0), (d, 8.0)]
    out = dict((x.key, s) for x, s in penalise_infeasible(scored, [0.0, 0.0, 2.0, 1.0]))
    assert out[a.key] == 1.0 and out[b.key] == 3.0  # feasible: as they were
    assert out[c.key] < out[d.key] < 1.0  # infeasible: below all feasible, larger violation lower
    none_ok = penalise_infeasible([(a, 5.0), (b, 1.0)], [3.0, 1.0])
    assert [s for _, s in none_ok] == [-3.0, -1.0]  # nothing feasible: by violation alone
    two = penalise_infeasible([(a, (1.0, -5.0)), (b, (0.0, -1.0))], [1.0, 0.0])
    assert two[0][1][0] < 0.0 and two[0][1][1] < -1.0  # every objective below the feasible ones
    with pytest.raises(ValueError, match="2 scores but 1 violations"):
        penalise_infeasible([(a, 1.0), (b, 2.0)], [0.0])


def test_the_shared_store_reads_constraints_and_names_of_directions(space):
    from nas_meta_tune.search.session import _as_sign

    a, b, c = space.sample(3, seed=2)

    def rec(n, arch, value, constraints):
        choices = {p.name: list(p.choices) for p in space.params}
        params = arch.to_params()
        return TrialRecord(n, "complete", params, choices, value, None, {}, n, constraints)

    store = SharedHistory(space)
    recs = [rec(0, a, 0.9, {"lat": 0.2}), rec(1, b, 0.5, {"lat": -0.1}), rec(2, c, 0.4, {})]
    history, pending, _ = store.read(recs, _as_sign(["MAXIMIZE"]))
    scores = {x.key: s for x, s in history}
    assert scores[b.key] == 0.5 and scores[c.key] == 0.4 and scores[a.key] < 0.4
    assert _as_sign(["maximize", "MINIMIZE"]) == (1.0, -1.0) and _as_sign("min") == -1.0
    with pytest.raises(ValueError, match="'maximize' or 'minimize'"):
        _as_sign("up")
