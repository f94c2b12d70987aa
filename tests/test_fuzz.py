"""Bad input, fuzzed with hypothesis: architecture conversions raise only
``InvalidArchitectureError``; the Ray and Syne schedulers always give a decision on arbitrary result
streams (through save/restore); damaged predictor weights raise ``CorruptWeightsError`` or load
exactly, never half.

(Pruners on arbitrary intermediate values: tests/test_schedulers.py; from_string / from_params of
every space: tests/test_spaces_common.py and the per-space tests.)"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nas_meta_tune import get_space
from nas_meta_tune.exceptions import CorruptWeightsError, InvalidArchitectureError
from nas_meta_tune.predictors import MetaPredictor
from nas_meta_tune.predictors.meta_predictor import WEIGHTS_DIR
from nas_meta_tune.spaces import available_spaces

_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
_value = st.one_of(_scalar, st.lists(_scalar, max_size=4))


# ------------------------------------------------------------------------ architectures
@pytest.mark.parametrize("name", available_spaces())
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_to_arch_on_arbitrary_input_raises_only_invalid_architecture(name, data):
    space = get_space(name)
    keys = st.one_of(st.sampled_from(space.param_names), st.text(max_size=10))
    config = data.draw(
        st.one_of(
            st.dictionaries(keys, _value, max_size=len(space.param_names) + 2),
            # a valid configuration with some values replaced or dropped
            st.builds(
                lambda seed, drop, repl: _mutated(space, seed, drop, repl),
                st.integers(0, 2**31),
                st.lists(st.sampled_from(space.param_names), max_size=2),
                st.dictionaries(st.sampled_from(space.param_names), _scalar, max_size=2),
            ),
            _scalar,
        )
    )
    try:
        arch = space.to_arch(config)
    except InvalidArchitectureError:  # SpaceMismatchError is one
        return
    assert space.to_arch(arch.to_params()).key == arch.key


def _mutated(space, seed, drop, repl):
    params = dict(space.sample(1, seed=seed)[0].to_params())
    for k in drop:
        params.pop(k, None)
    params.update(repl)
    return params


# ------------------------------------------------------------------------ schedulers
_metric = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e300, 1e300),
    st.none(),
    st.text(max_size=3),
)
_step = st.one_of(st.integers(-3, 40), st.floats(allow_nan=True, allow_infinity=True), st.none())
_event = st.tuples(
    st.integers(0, 3),  # which trial
    st.sampled_from(["result", "result", "result", "complete", "save"]),
    _step,
    _metric,
    st.booleans(),  # drop the metric key from the result
)


def _result(metric, time_attr, step, value, drop):
    result = {time_attr: step}
    if not drop:
        result[metric] = value
    return result


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(_event, max_size=40),
    kind=st.sampled_from(["parametric", "learned", "rank"]),
    mode=st.sampled_from(["max", "min"]),
)
def test_ray_schedulers_always_decide(events, kind, mode, tmp_path_factory):
    pytest.importorskip("ray")
    from ray.tune.experiment import Trial
    from ray.tune.schedulers import TrialScheduler

    from nas_meta_tune.curves import LCRankModel
    from nas_meta_tune.schedulers import LCExtrapolationScheduler

    def make():
        kw = dict(
            max_t=30, metric="acc", mode=mode, time_attr="epoch", grace_period=2, min_completed=1
        )
        if kind == "rank":
            return LCExtrapolationScheduler(**kw, model=LCRankModel(epochs=2))
        return LCExtrapolationScheduler(**kw, method=kind)

    scheduler = make()
    trials = [Trial("fuzz", stub=True, config={}) for _ in range(4)]
    for t in trials:
        scheduler.on_trial_add(None, t)
    done = set()
    path = tmp_path_factory.mktemp("sched") / "state.pkl"
    for i, what, step, value, drop in events:
        trial = trials[i]
        if i in done:
            continue
        if what == "save":
            scheduler.save(str(path))
            scheduler = make()
            scheduler.restore(str(path))
        elif what == "complete":
            scheduler.on_trial_complete(None, trial, _result("acc", "epoch", step, value, drop))
            done.add(i)
        else:
            decision = scheduler.on_trial_result(
                None, trial, _result("acc", "epoch", step, value, drop)
            )
            assert decision in (TrialScheduler.CONTINUE, TrialScheduler.STOP)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(_event, max_size=40), mode=st.sampled_from(["max", "min"]))
def test_syne_scheduler_always_decides(events, mode):
    pytest.importorskip("syne_tune")
    from syne_tune.backend.trial_status import Trial
    from syne_tune.config_space import choice
    from syne_tune.optimizer.scheduler import SchedulerDecision
    from syne_tune.optimizer.schedulers.single_objective_scheduler import SingleObjectiveScheduler

    from nas_meta_tune.schedulers import LCExtrapolationSyneScheduler

    inner = SingleObjectiveScheduler(
        {"i": choice([0, 1, 2])},
        metric="acc",
        do_minimize=mode == "min",
        searcher="random_search",
        random_seed=0,
    )
    scheduler = LCExtrapolationSyneScheduler(
        inner, metric="acc", mode=mode, time_attr="epoch", max_t=30, grace_period=2
    )
    trials = []
    for trial_id in range(4):
        suggestion = scheduler.suggest()
        trials.append(
            Trial(trial_id=trial_id, config=suggestion.config, creation_time=datetime.now())
        )
        scheduler.on_trial_add(trials[-1])
    done = set()
    for i, what, step, value, drop in events:
        if i in done:
            continue
        result = _result("acc", "epoch", step, value, drop)
        if what == "complete":
            scheduler.on_trial_complete(trials[i], result)
            done.add(i)
        elif what == "result":
            assert scheduler.on_trial_result(trials[i], result) in (
                SchedulerDecision.CONTINUE,
                SchedulerDecision.STOP,
                SchedulerDecision.PAUSE,
            )


# ------------------------------------------------------------------------ weights
@pytest.fixture(scope="module")
def shipped():
    path = WEIGHTS_DIR / "default.pt"
    predictor = MetaPredictor.load(path)
    archs = get_space("nasbench_graph").sample(16, seed=0)
    return path.read_bytes(), archs, predictor.predict(archs)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.one_of(st.none(), st.floats(0.0, 1.0, exclude_max=True)),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 7)), max_size=3),
)
def test_damaged_weights_raise_or_load_exactly(shipped, tmp_path, cut, flips):
    data, archs, expected = shipped
    damaged = bytearray(data if cut is None else data[: int(cut * len(data))])
    for where, bit in flips:
        if damaged:
            damaged[int(where * len(damaged))] ^= 1 << bit
    path = tmp_path / "damaged.pt"
    path.write_bytes(bytes(damaged))
    try:
        loaded = MetaPredictor.load(path)
    except CorruptWeightsError as err:
        assert "damaged.pt" in str(err) or "SHA-256" in str(err) or "version" in str(err)
        return
    # a flip the format does not cover (zip padding, timestamps) must leave the model unchanged
    np.testing.assert_array_equal(loaded.predict(archs), expected)


# ------------------------------------------------------------------------ the proposer
_score = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, 1.0, 1e300, -1e300, 5e-324]),
)


@pytest.fixture(scope="module")
def fuzz_proposer():
    from nas_meta_tune.search import MetaNASProposer

    space = get_space("transnas_micro")
    return space, MetaNASProposer(space, MetaPredictor.pretrained(), seed=0)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    picks=st.lists(st.integers(0, 1235), max_size=30),
    scores=st.lists(_score, min_size=30, max_size=30),
    pending=st.lists(st.integers(0, 1235), max_size=5),
    n=st.integers(1, 4),
)
@pytest.mark.slow
def test_proposer_on_arbitrary_histories_proposes_distinct_unseen_architectures(
    fuzz_proposer, picks, scores, pending, n
):
    """Any scores (NaN, inf, ties, extremes, duplicates of one architecture) and pending trials:
    the transfer-BO proposer returns ``n`` distinct architectures, none evaluated or pending."""
    space, prop = fuzz_proposer
    archs = space.enumerate(unique=True)
    history = [(archs[i], s) for i, s in zip(picks, scores)]
    pend = [archs[i] for i in pending]
    out = prop.propose(history, pend, n=n)
    seen = {a.key for a, _ in history} | {a.key for a in pend}
    keys = [a.key for a in out]
    assert len(keys) == len(set(keys)) == n and not set(keys) & seen
