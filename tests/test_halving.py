"""Successive halving on extrapolated final values (``RungHalving``), in the rule and the adapters.

Mechanics (rungs, cut-offs, crossing curves, state) on synthetic curves, named as such; the
adapters (Optuna pruner in a real study, Ray Tune and Syne Tune schedulers through their own
calls) on real LCBench-surrogate curves.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nas_meta_tune.curves import (
    CompletedCurve,
    CurveTracker,
    LCStoppingRule,
    RungHalving,
    load_lcbench_curves,
)

EPOCHS = 52


@pytest.fixture(scope="module")
def curves(data_root):
    """40 LCBench-surrogate curves of one task, each 52 epochs of validation accuracy (%)."""
    return load_lcbench_curves(data_root, task_ids=["3945"], n_configs=40, seed=0)


# ---------------------------------------------------------------------------- arguments, rungs
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"min_resource": 0}, "min_resource"),
        ({"min_resource": -2.0}, "min_resource"),
        ({"min_resource": float("inf")}, "min_resource"),
        ({"reduction_factor": 1}, "reduction_factor"),
        ({"reduction_factor": float("nan")}, "reduction_factor"),
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": 1.0}, "threshold"),
        ({"min_points": 0}, "min_points"),
    ],
)
def test_bad_arguments_name_the_argument_and_value(kwargs, name):
    with pytest.raises(ValueError, match=rf"{name}=") as info:
        RungHalving(**kwargs)
    assert name in str(info.value)


def test_halving_needs_an_extrapolating_rule():
    with pytest.raises(ValueError, match="method='rank'"):
        LCStoppingRule(method="rank", halving=RungHalving())
    with pytest.raises(TypeError, match="halving"):
        LCStoppingRule(halving="sha")  # type: ignore[arg-type]


def test_rungs_are_geometric_and_below_the_target():
    assert RungHalving(min_resource=3).rungs(27.0).tolist() == [3.0, 9.0]
    assert RungHalving(min_resource=3).rungs(28.0).tolist() == [3.0, 9.0, 27.0]
    assert RungHalving(min_resource=1, reduction_factor=2).rungs(10.0).tolist() == [1, 2, 4, 8]
    # inferred (min_resource=None): the target over 100, at least the min_points-th step (the
    # first rung already extrapolates)
    assert RungHalving().rungs(52.0, first_step=1.0).tolist() == [3.0, 9.0, 27.0]
    assert RungHalving().rungs(200.0, first_step=1.0).tolist() == [3.0, 9.0, 27.0, 81.0]
    assert RungHalving().rungs(2000.0, first_step=1.0).tolist() == [
        20.0,
        60.0,
        180.0,
        540.0,
        1620.0,
    ]
    assert RungHalving().rungs(52.0, first_step=5.0).tolist() == [15.0, 45.0]
    assert RungHalving(min_points=1).rungs(52.0, first_step=1.0).tolist() == [1, 3, 9, 27]
    assert RungHalving(min_resource=60).rungs(52.0).size == 0
    assert "reduction_factor=3" in repr(RungHalving()) and "min_resource=auto" in repr(
        RungHalving()
    )


# ---------------------------------------------------------------------------- the rung decision
def _saturating_on_synthetic_curves(level: float, tau: float, n: int = 30) -> np.ndarray:
    """A synthetic, noise-free curve ``level * (1 - exp(-e / tau))``, e = 1..n (mechanics only)."""
    e = np.arange(1, n + 1, dtype=np.float64)
    return level * (1.0 - np.exp(-e / tau))


def _crossing_study_on_synthetic_curves():
    """Six completed curves ``L - 0.4 e^-0.8`` (L = 0.62-0.80, finals 0.59-0.77), a slow starter
    ``0.9 (1 - exp(-e / 10))`` that ends best (0.86) and a low one: at the rung at step 9 the slow
    starter is last on its current value and first on its final one (mechanics only)."""
    steps = np.arange(1, 31, dtype=np.float64)
    done = [
        CompletedCurve(steps, level - 0.4 * steps**-0.8)
        for level in (0.62, 0.66, 0.7, 0.74, 0.77, 0.8)
    ]
    slow = _saturating_on_synthetic_curves(0.9, 10.0)
    low = _saturating_on_synthetic_curves(0.3, 2.0)
    return steps, done, slow, low


def test_a_crossing_curve_is_kept_by_halving_on_extrapolation_on_synthetic_curves():
    steps, done, slow, _ = _crossing_study_on_synthetic_curves()
    assert slow[8] < min(c.values[8] for c in done)  # last at the rung on its current value ...
    assert slow[-1] > max(c.final for c in done)  # ... and best at the end
    others = [(c.steps, c.values) for c in done]

    def decide(halving):
        rule = LCStoppingRule(max_step=30, value_range=(0, 1), halving=halving)
        rung = halving.decide(rule, steps[:9], slow[:9], done, others, 30.0)
        return rung, rule.decide(steps[:9], slow[:9], done, others=others)

    # plain successive halving (current values: min_points above the points seen) stops it
    rung, plain = decide(RungHalving(min_resource=9, min_points=100))
    assert rung.stop and plain.stop and plain.reason.startswith("rung 0 (step 9)")
    assert "last value" in plain.reason
    # ranked by its extrapolated final value it goes on (past the rung, and past the rule's own
    # test against the best completed curve)
    rung, kept = decide(RungHalving(min_resource=9))
    assert not rung.stop and not kept.stop, (rung.reason, kept.reason)
    assert rung.reason.startswith("rung 0 (step 9)") and "predicted final" in rung.reason
    assert rung.prediction is not None and rung.prediction.mean > 0.8


def test_optunas_successive_halving_stops_the_crossing_curve_on_synthetic_curves():
    """The peer the crossing curve is built against: Optuna's SuccessiveHalvingPruner with the
    same rung, in the same study (the rule's own test between rungs is off: from 3 points of the
    slow start no extrapolation sees the rise, see the next assertion)."""
    optuna = pytest.importorskip("optuna")
    from nas_meta_tune.schedulers import LCExtrapolationPruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    steps, done, slow, _ = _crossing_study_on_synthetic_curves()
    rung9 = RungHalving(min_resource=9, stop_below_best=False)
    pruned_at = {}
    for name, pruner in (
        ("sha", optuna.pruners.SuccessiveHalvingPruner(min_resource=9, reduction_factor=3)),
        ("lch", LCExtrapolationPruner(value_range=(0, 1), halving=rung9)),
        (
            "lch_and_rule",
            LCExtrapolationPruner(value_range=(0, 1), halving=RungHalving(min_resource=9)),
        ),
    ):
        study = optuna.create_study(direction="maximize", pruner=pruner)
        for values in [c.values for c in done] + [slow]:  # the completed ones, then the slow one
            trial = study.ask()
            for e, v in zip(steps, values):
                trial.report(float(v), int(e))
                if trial.should_prune():
                    pruned_at[name] = int(e)
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    break
            else:
                study.tell(trial, float(values[-1]))
        states = [t.state for t in study.trials[:-1]]
        assert all(s == optuna.trial.TrialState.COMPLETE for s in states), name
    assert pruned_at.get("sha") == 9
    assert "lch" not in pruned_at  # kept to the end, where it is the best
    assert pruned_at.get("lch_and_rule", 0) < 9  # the default stop_below_best: stopped earlier


def test_a_trial_below_the_rung_cutoff_is_stopped_on_synthetic_curves():
    steps, done, _, low = _crossing_study_on_synthetic_curves()
    rule = LCStoppingRule(
        max_step=30, value_range=(0, 1), halving=RungHalving(min_resource=9, stop_below_best=False)
    )
    others = [(c.steps, c.values) for c in done]
    d = rule.decide(steps[:9], low[:9], done, others=others)
    assert d.stop and d.reason.startswith("rung 0 (step 9)") and d.prob < 0.5
    # between rungs (and with stop_below_best=False) nothing is decided
    d = rule.decide(steps[:10], low[:10], done, others=others)
    assert not d.stop and d.reason == "between rungs"
    # a curve that jumps over a rung (no report at 9) is judged at its first report past it
    s = np.r_[steps[:7], steps[10:11]]
    d = rule.decide(s, low[s.astype(int) - 1], done, others=others)
    assert d.stop and d.reason.startswith("rung 0")


def test_the_cutoff_counts_only_trials_that_reached_the_rung_on_synthetic_curves():
    steps, done, _, low = _crossing_study_on_synthetic_curves()
    halving = RungHalving(min_resource=9, min_points=100)  # current values: exact cut-offs
    rule = LCStoppingRule(max_step=30, value_range=(0, 1), halving=halving)
    short = (steps[:5], np.full(5, 0.99))  # high, but it never reached step 9
    # alone at the rung (n < eta): the cut-off is its own value, so it goes on
    d = halving.decide(rule, steps[:9], low[:9], done, [short], 30.0)
    assert "of 1 trials" in d.reason and not d.stop
    # n = 7 with eta = 3: the 2nd highest of the values at step 9 is the cut-off
    others = [(c.steps, c.values) for c in done] + [short]
    d = halving.decide(rule, steps[:9], low[:9], done, others, 30.0)
    at9 = sorted([c.values[8] for c in done] + [low[8]], reverse=True)
    assert d.stop and "of 7 trials" in d.reason and f"{at9[1]:.4g}" in d.reason
    # not at a rung crossing: no rung decision
    assert halving.decide(rule, steps[:10], low[:10], done, others, 30.0) is None
    assert halving.decide(rule, steps[:8], low[:8], done, others, 30.0) is None


# ---------------------------------------------------------------------------- state
def test_tracker_state_round_trips_the_retired_curves_on_synthetic_curves():
    steps, done, slow, low = _crossing_study_on_synthetic_curves()
    tracker = CurveTracker(
        LCStoppingRule(max_step=30, value_range=(0, 1), halving=RungHalving(min_resource=9)),
        mode="max",
    )
    for i, c in enumerate(done):
        for s, v in zip(c.steps, c.values):
            tracker.record(f"done{i}", s, v)
        tracker.on_complete(f"done{i}")
    for e in range(9):
        tracker.record("low", steps[e], low[e])
    tracker.on_remove("low")  # stopped: kept as a rung competitor
    for e in range(12):
        tracker.record("running", steps[e], slow[e])
    state = json.loads(json.dumps(tracker.state()))  # a JSON checkpoint
    assert len(state["retired"]) == 1

    fresh = CurveTracker(
        LCStoppingRule(max_step=30, value_range=(0, 1), halving=RungHalving(min_resource=9))
    )
    fresh.set_state(state)
    assert len(fresh._retired) == 1
    np.testing.assert_array_equal(fresh._retired[0][0], steps[:9])
    np.testing.assert_allclose(fresh._retired[0][1], low[:9])
    mine, theirs = tracker.others("new"), fresh.others("new")
    assert len(mine) == len(theirs) == 8  # running + 6 completed + 1 retired
    for (s1, v1), (s2, v2) in zip(mine, theirs):
        np.testing.assert_array_equal(s1, s2)
        np.testing.assert_allclose(v1, v2)
    d1 = [tracker.on_result("new", steps[e], low[e]) for e in range(9)][-1]
    d2 = [fresh.on_result("new", steps[e], low[e]) for e in range(9)][-1]
    assert d1.stop == d2.stop and d1.reason == d2.reason
    # a state written before halving existed (no "retired") still loads
    del state["retired"]
    fresh.set_state(state)
    assert fresh._retired == []


def test_without_halving_a_stopped_curve_is_forgotten():
    tracker = CurveTracker(LCStoppingRule(max_step=30))
    tracker.record("a", 1, 0.5)
    tracker.on_remove("a")
    assert tracker.state()["retired"] == [] and tracker.others("b") == []


# ---------------------------------------------------------------------------- Optuna
def _replay(study, curves, n):
    import optuna

    used = {}

    def objective(trial):
        c = curves[trial.number]
        for step, v in zip(c.steps, c.values):
            used[trial.number] = int(step)
            trial.report(float(v), int(step))
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(c.final)

    study.optimize(objective, n_trials=n)
    return used


@pytest.mark.slow
def test_pruner_with_halving_and_no_other_arguments_on_real_curves(curves, tmp_path):
    optuna = pytest.importorskip("optuna")
    from nas_meta_tune.schedulers import LCExtrapolationPruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n = 24
    runs = {}
    for name, storage in (("memory", None), ("sqlite", f"sqlite:///{tmp_path / 'h.db'}")):
        pruner = LCExtrapolationPruner(halving=RungHalving())
        study = optuna.create_study(
            direction="maximize", pruner=pruner, storage=storage, study_name=f"h-{name}"
        )
        used = _replay(study, curves, n)
        states = [t.state for t in study.trials]
        pruned = [i for i, s in enumerate(states) if s == optuna.trial.TrialState.PRUNED]
        assert states[0] == optuna.trial.TrialState.COMPLETE  # nothing to compare with yet
        assert pruned and sum(used.values()) < EPOCHS * n
        # no target before a curve completes; then rungs 3, 9, 27 of the 52 epochs
        rule = pruner.rule_for(1.0)
        assert rule.max_step is None and rule.target_step(pruner.completed_curves(study)) == 52
        assert any(used[i] in (3, 9, 27) for i in pruned)
        runs[name] = (pruned, used)
    # the pruner reads every curve from the storage: the same trials are pruned in both
    assert runs["memory"] == runs["sqlite"]


def test_pruner_with_halving_compares_pruned_trials_at_a_rung(curves):
    """Pruned trials stay rung competitors (as in successive halving): the pruner reads them."""
    optuna = pytest.importorskip("optuna")
    from nas_meta_tune.schedulers import LCExtrapolationPruner

    pruner = LCExtrapolationPruner(halving=RungHalving(), value_range=(0, 100))
    study = optuna.create_study(direction="maximize", pruner=pruner)
    _replay(study, curves, 12)
    trial = study.trials[-1]
    others = pruner.other_curves(study, trial, 1.0)
    assert len(others) == 11
    assert any(t.state == optuna.trial.TrialState.PRUNED for t in study.trials[:-1])


# ---------------------------------------------------------------------------- Ray Tune
def test_ray_scheduler_with_halving_decides_through_its_api_on_real_curves(curves, tmp_path):
    pytest.importorskip("ray")
    from ray.tune.experiment import Trial
    from ray.tune.schedulers import TrialScheduler

    from nas_meta_tune.schedulers import LCExtrapolationScheduler

    def make():
        return LCExtrapolationScheduler(
            metric="acc", mode="max", time_attr="epoch", halving=RungHalving()
        )

    sched = make()
    stopped_at = []
    for c in curves[:16]:
        trial = Trial("__fake", stub=True)
        sched.on_trial_add(None, trial)
        result = {}
        for e, v in zip(c.steps, c.values):
            result = {"epoch": int(e), "acc": float(v)}
            if sched.on_trial_result(None, trial, result) == TrialScheduler.STOP:
                stopped_at.append(int(e))
                break
        sched.on_trial_complete(None, trial, result)
    assert stopped_at and sched.num_stopped == len(stopped_at)
    assert set(stopped_at) & {3, 9, 27}  # rung decisions
    tracker = sched.tracker
    assert len(tracker.completed) == 16 - len(stopped_at)
    assert len(tracker._retired) == len(stopped_at)  # stopped trials stay rung competitors
    path = tmp_path / "sched.json"
    sched.save(str(path))
    again = make()
    again.restore(str(path))
    assert len(again.tracker._retired) == len(stopped_at)
    # the restored scheduler makes the same decisions on a new trial
    new = curves[20]
    decisions = []
    for which in (sched, again):
        trial = Trial("__fake", stub=True)
        which.on_trial_add(None, trial)
        decisions.append(
            [
                which.on_trial_result(None, trial, {"epoch": int(e), "acc": float(v)})
                for e, v in zip(new.steps[:10], new.values[:10])
            ]
        )
    assert decisions[0] == decisions[1]


# ---------------------------------------------------------------------------- Syne Tune
def test_syne_scheduler_with_halving_decides_through_its_api_on_real_curves(curves):
    pytest.importorskip("syne_tune")
    from datetime import datetime

    from syne_tune.backend.trial_status import Trial
    from syne_tune.config_space import choice
    from syne_tune.optimizer.scheduler import SchedulerDecision
    from syne_tune.optimizer.schedulers.single_objective_scheduler import SingleObjectiveScheduler

    from nas_meta_tune.schedulers import LCExtrapolationSyneScheduler

    inner = SingleObjectiveScheduler(
        {"i": choice(list(range(len(curves))))},
        metric="acc",
        do_minimize=False,
        searcher="random_search",
        random_seed=0,
    )
    scheduler = LCExtrapolationSyneScheduler(
        inner, metric="acc", mode="max", time_attr="epoch", halving=RungHalving()
    )
    stopped_at = []
    for trial_id in range(16):
        suggestion = scheduler.suggest()
        trial = Trial(trial_id=trial_id, config=suggestion.config, creation_time=datetime.now())
        scheduler.on_trial_add(trial)
        c = curves[suggestion.config["i"]]
        stopped = False
        for e, v in zip(c.steps, c.values):
            result = {"acc": float(v), "epoch": int(e)}
            if scheduler.on_trial_result(trial, result) == SchedulerDecision.STOP:
                stopped_at.append(int(e))
                stopped = True
                break
        if stopped:
            scheduler.on_trial_remove(trial)  # what Syne's Tuner calls after a STOP
        else:
            scheduler.on_trial_complete(trial, result)
    assert stopped_at and scheduler.num_stopped == len(stopped_at)
    assert set(stopped_at) & {3, 9, 27}
    assert len(scheduler.tracker._retired) == len(stopped_at)
    assert len(scheduler.tracker.completed) == 16 - len(stopped_at)
