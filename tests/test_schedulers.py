"""Learning-curve pruners (Optuna) and schedulers (Ray Tune, Syne Tune) on real curves.

Curves: the YAHPO LCBench surrogate (per-epoch validation accuracy of MLPs on OpenML tasks,
a surrogate of real LCBench runs) and the real NATS-Bench / NB201 per-epoch logs.
"""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nas_meta_tune.curves import load_lcbench_curves

optuna = pytest.importorskip("optuna")
from nas_meta_tune.schedulers import LCExtrapolationPruner, LCRankPruner, report, should_prune  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
EPOCHS = 52


@pytest.fixture(scope="module")
def curves(data_root):
    """40 LCBench-surrogate curves of one task, each 52 epochs of validation accuracy (%)."""
    return load_lcbench_curves(data_root, task_ids=["3945"], n_configs=40, seed=0)


def _replay(study, curves, n, *, transform=lambda v: v, helpers=False):
    """Run ``n`` trials, trial i replaying curve i epoch by epoch; returns epochs used per trial."""
    used = {}

    def objective(trial):
        c = curves[trial.number]
        for step, v in zip(c.steps, c.values):
            used[trial.number] = int(step)
            if helpers:
                report(trial, transform(v), int(step))
                if should_prune(trial):
                    raise optuna.TrialPruned()
            else:
                trial.report(transform(v), int(step))
                if trial.should_prune():
                    raise optuna.TrialPruned()
        return transform(c.final) if not helpers else (transform(c.final), 1.0)

    study.optimize(objective, n_trials=n)
    return used


def _pruned(study):
    return sorted(t.number for t in study.trials if t.state == optuna.trial.TrialState.PRUNED)


@pytest.mark.parametrize("method", ["parametric", "learned", "pfn"])
@pytest.mark.slow
def test_extrapolation_pruner_saves_epochs_on_real_curves(curves, method):
    pruner = LCExtrapolationPruner(
        max_step=EPOCHS, min_step=5, value_range=(0, 100), method=method, min_completed=3
    )
    study = optuna.create_study(direction="maximize", pruner=pruner)
    used = _replay(study, curves, len(curves))
    pruned = _pruned(study)
    assert pruned, "nothing was pruned"
    assert all(used[i] >= 5 for i in pruned), "pruned during warm-up"
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials[:3]), (
        "pruned before min_completed"
    )
    assert sum(used.values()) < 0.8 * EPOCHS * len(curves)
    # pruned trials are mostly the ones that end below the best of the completed trials
    best_so_far = np.maximum.accumulate([c.final for c in curves])
    worse = [curves[i].final < best_so_far[i - 1] for i in pruned]
    assert np.mean(worse) >= 0.8
    assert pruner.last_decision is not None


@pytest.mark.slow
def test_minimize_prunes_the_same_trials_as_maximize(curves):
    runs = []
    for direction, transform in (("maximize", lambda v: v), ("minimize", lambda v: 100.0 - v)):
        pruner = LCExtrapolationPruner(max_step=EPOCHS, min_step=5, value_range=(0, 100))
        study = optuna.create_study(direction=direction, pruner=pruner)
        _replay(study, curves, 20, transform=transform)
        runs.append(_pruned(study))
    assert runs[0] == runs[1] and runs[0]


def test_rank_pruner_on_real_curves(curves):
    from nas_meta_tune.curves import LCRankModel

    pruner = LCExtrapolationPruner(
        max_step=EPOCHS, min_step=5, min_completed=4, model=LCRankModel(epochs=20), threshold=0.1
    )
    study = optuna.create_study(direction="maximize", pruner=pruner)
    used = _replay(study, curves, 24)
    assert _pruned(study) and sum(used.values()) < EPOCHS * 24
    assert "P(ends above" in pruner.last_decision.reason


def test_deprecated_rank_pruner_warns_and_decides_as_the_one_pruner(curves):
    from nas_meta_tune.curves import LCRankModel

    with pytest.warns(FutureWarning, match="LCRankPruner is deprecated"):
        old = LCRankPruner(max_step=EPOCHS, min_step=5, min_completed=4, finetune_epochs=3)
    new = LCExtrapolationPruner(
        max_step=EPOCHS, min_step=5, min_completed=4, model=LCRankModel(epochs=3)
    )
    assert isinstance(old, LCExtrapolationPruner)
    pruned = []
    for pruner in (old, new):
        study = optuna.create_study(direction="maximize", pruner=pruner)
        _replay(study, curves, 10)
        pruned.append(_pruned(study))
    assert pruned[0] == pruned[1]


@pytest.mark.slow
def test_pruner_with_sqlite_storage_and_threads(curves, tmp_path):
    storage = f"sqlite:///{tmp_path / 'p.db'}"
    pruner = LCExtrapolationPruner(
        max_step=EPOCHS, min_step=5, value_range=(0, 100), min_completed=2
    )
    study = optuna.create_study(
        direction="maximize", pruner=pruner, storage=storage, study_name="p"
    )
    _replay(study, curves, 16)
    again = optuna.load_study(
        study_name="p", storage=storage, pruner=pickle.loads(pickle.dumps(pruner))
    )
    again.optimize(lambda t: float(curves[t.number % len(curves)].final), n_trials=2, n_jobs=2)
    states = [t.state for t in again.trials]
    assert len(states) == 18 and optuna.trial.TrialState.PRUNED in states


def test_multi_objective_pruning_on_a_chosen_objective(curves):
    pruner = LCExtrapolationPruner(max_step=EPOCHS, min_step=5, value_range=(0, 100), objective=0)
    study = optuna.create_study(directions=["maximize", "minimize"], pruner=pruner)
    _replay(study, curves, 20, helpers=True)
    assert _pruned(study)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete and all(len(t.values) == 2 for t in complete)
    # other pruners cannot prune multi-objective studies: a clear error, not Optuna's NotImplementedError
    other = optuna.create_study(
        directions=["maximize", "minimize"], pruner=optuna.pruners.MedianPruner()
    )
    trial = other.ask()
    report(trial, 1.0, 1)
    with pytest.raises(ValueError, match="multi-objective"):
        should_prune(trial)
    with pytest.raises(ValueError, match="objective"):
        bad = optuna.create_study(
            directions=["maximize", "minimize"],
            pruner=LCExtrapolationPruner(max_step=10, objective=5),
        )
        t = bad.ask()
        report(t, 1.0, 1)
        should_prune(t)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="threshold"):
        LCExtrapolationPruner(max_step=10, threshold=1.5)
    with pytest.raises(ValueError, match="method"):
        LCExtrapolationPruner(max_step=10, method="sha")
    with pytest.raises(ValueError, match="not both"):
        LCExtrapolationPruner(max_step=10, model="pfn", method="rank")
    assert LCExtrapolationPruner(max_step=10, method="rank").rule_for(1.0).method == "rank"
    with pytest.raises(ValueError, match="value_range"):
        LCExtrapolationPruner(max_step=10, value_range=(1, 0))
    with pytest.raises(ValueError, match="max_step"):
        LCExtrapolationPruner(max_step=float("nan"))


_num = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-1e300, max_value=1e300),
    st.integers(min_value=-(10**9), max_value=10**9).map(float),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    current=st.lists(st.tuples(st.integers(min_value=0, max_value=60), _num), max_size=25),
    done=st.lists(
        st.lists(st.tuples(st.integers(min_value=0, max_value=60), _num), min_size=1, max_size=10),
        max_size=3,
    ),
    final=_num,
    direction=st.sampled_from(["maximize", "minimize"]),
    method=st.sampled_from(["parametric", "learned", "pfn"]),
)
def test_fuzzed_intermediate_values_always_give_a_decision(current, done, final, direction, method):
    pruner = LCExtrapolationPruner(max_step=50, min_step=1, method=method, min_completed=1)
    study = optuna.create_study(direction=direction, pruner=pruner)
    for curve in done:
        iv = {}
        for s, v in curve:
            iv.setdefault(s, v)
        value = final if math.isfinite(final) else 0.0
        study.add_trial(optuna.trial.create_trial(value=value, intermediate_values=iv))
    trial = study.ask()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns about (and ignores) a repeated step
        for s, v in current:
            trial.report(v, s)
    assert isinstance(pruner.prune(study, study._storage.get_trial(trial._trial_id)), bool)


# ---------------------------------------------------------------------------------- Ray Tune
@pytest.mark.slow
def test_ray_scheduler_stops_trials_and_saves_its_state(ray_cluster, curves, tmp_path):
    from ray import tune

    from nas_meta_tune.schedulers import LCExtrapolationScheduler

    def _ray_trainable(
        config,
    ):  # nested: pickled by value to the workers (this module is not importable there)
        from ray import tune

        for epoch, v in enumerate(config["curve"], start=1):
            tune.report({"acc": float(v), "epoch": epoch})

    scheduler = LCExtrapolationScheduler(
        max_t=EPOCHS, time_attr="epoch", grace_period=5, value_range=(0, 100), min_completed=2
    )
    tuner = tune.Tuner(
        _ray_trainable,
        param_space={"curve": tune.grid_search([c.values.tolist() for c in curves[:8]])},
        tune_config=tune.TuneConfig(
            metric="acc", mode="max", scheduler=scheduler, max_concurrent_trials=2
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    results = tuner.fit()
    epochs = [r.metrics["epoch"] for r in results]
    assert len(epochs) == 8 and min(epochs) < EPOCHS and max(epochs) == EPOCHS
    assert not results.errors
    # the scheduler the driver held was pickled to the trial runner; check save/restore on a fresh copy
    fresh = LCExtrapolationScheduler(
        max_t=EPOCHS,
        metric="acc",
        mode="max",
        time_attr="epoch",
        grace_period=5,
        value_range=(0, 100),
    )
    for i, c in enumerate(curves[:3]):
        for s, v in zip(c.steps, c.values):
            fresh.tracker.on_result(str(i), s, v)
        fresh.tracker.on_complete(str(i))
    path = tmp_path / "sched.pkl"
    fresh.save(str(path))
    restored = LCExtrapolationScheduler(
        max_t=EPOCHS, time_attr="epoch", grace_period=5, value_range=(0, 100)
    )
    restored.restore(str(path))
    assert len(restored.tracker.completed) == 3 and restored._metric == "acc"
    partial = curves[5]
    d1 = fresh.tracker.rule.decide(partial.steps[:10], partial.values[:10], fresh.tracker.completed)
    d2 = restored.tracker.rule.decide(
        partial.steps[:10], partial.values[:10], restored.tracker.completed
    )
    assert d1.stop == d2.stop and d1.prob == pytest.approx(d2.prob)


def test_ray_scheduler_ignores_results_without_the_metric_and_nan(curves):
    from ray.tune.experiment import Trial

    from nas_meta_tune.schedulers import LCExtrapolationScheduler, LCRankScheduler

    trial = Trial("__fake", stub=True)
    with pytest.warns(FutureWarning, match="LCRankScheduler is deprecated"):
        assert isinstance(LCRankScheduler(), LCExtrapolationScheduler)  # one class, old name kept
    for make in (
        LCExtrapolationScheduler,
        lambda **kw: LCExtrapolationScheduler(model="rank", **kw),
        lambda **kw: LCExtrapolationScheduler(method="pfn", **kw),
    ):
        s = make(max_t=EPOCHS, metric="acc", mode="max", time_attr="epoch")
        assert s.on_trial_result(None, trial, {"epoch": 1}) == "CONTINUE"
        assert s.on_trial_result(None, trial, {"epoch": 2, "acc": float("nan")}) == "CONTINUE"
        assert s.on_trial_result(None, trial, {"acc": 3.0}) == "CONTINUE"
        assert s.on_trial_result(None, trial, {"epoch": "x", "acc": None}) == "CONTINUE"


# ---------------------------------------------------------------------------------- Syne Tune
@pytest.mark.parametrize("method", ["parametric", "pfn"])
def test_syne_scheduler_stops_trials_in_a_sequential_run(curves, method):
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
        inner,
        metric="acc",
        mode="max",
        time_attr="epoch",
        max_t=EPOCHS,
        grace_period=5,
        value_range=(0, 100),
        method=method,
    )
    used = []
    for trial_id in range(20):
        suggestion = scheduler.suggest()
        trial = Trial(trial_id=trial_id, config=suggestion.config, creation_time=datetime.now())
        scheduler.on_trial_add(trial)
        c = curves[suggestion.config["i"]]
        for epoch, v in zip(c.steps, c.values):
            result = {"acc": float(v), "epoch": int(epoch)}
            decision = scheduler.on_trial_result(trial, result)
            if decision == SchedulerDecision.STOP:
                break
        used.append(int(epoch))
        scheduler.on_trial_complete(trial, result)
    assert scheduler.num_stopped > 0 and min(used) < EPOCHS
    assert len(scheduler.tracker.completed) == 20 - scheduler.num_stopped


@pytest.mark.slow
def test_syne_scheduler_tells_a_meta_nas_searcher_of_the_trials_it_stops(curves):
    """Syne Tune tells a searcher nothing of a stopped trial; the scheduler does, so the searcher
    learns from it as pruned instead of keeping it pending. The curves are real (LCBench), their
    assignment to the 27 architectures of a declared space is arbitrary (a test of plumbing)."""
    pytest.importorskip("syne_tune")
    from datetime import datetime

    from ConfigSpace import ConfigurationSpace
    from syne_tune.backend.trial_status import Trial
    from syne_tune.optimizer.scheduler import SchedulerDecision
    from syne_tune.optimizer.schedulers.single_objective_scheduler import SingleObjectiveScheduler

    from nas_meta_tune.integrations.syne import syne_config_space
    from nas_meta_tune.samplers import MetaNASSyneSearcher
    from nas_meta_tune.schedulers import LCExtrapolationSyneScheduler
    from nas_meta_tune.spaces import from_configspace

    ops = ["conv3x3", "skip", "avg_pool_3x3"]
    space = from_configspace(
        ConfigurationSpace({f"b{i}": ops for i in range(3)}), name="t_syne_stop_plumbing"
    )
    index = {a.key: i % len(curves) for i, a in enumerate(space.enumerate())}
    config_space = syne_config_space(space)
    searcher = MetaNASSyneSearcher(config_space, space=space, random_seed=0)
    inner = SingleObjectiveScheduler(
        config_space, metric="acc", do_minimize=False, searcher=searcher, random_seed=0
    )
    scheduler = LCExtrapolationSyneScheduler(
        inner, metric="acc", mode="max", time_attr="epoch", max_t=EPOCHS, grace_period=5,
        value_range=(0, 100),
    )  # fmt: skip
    stopped = {}
    for trial_id in range(15):
        suggestion = scheduler.suggest()
        trial = Trial(trial_id=trial_id, config=suggestion.config, creation_time=datetime.now())
        scheduler.on_trial_add(trial)
        c = curves[index[space.from_params(suggestion.config).key]]
        for epoch, v in zip(c.steps, c.values):
            result = {"acc": float(v), "epoch": int(epoch)}
            if scheduler.on_trial_result(trial, result) == SchedulerDecision.STOP:
                stopped[trial_id] = float(v)
                break
        if trial_id in stopped:
            scheduler.on_trial_remove(trial)  # what Syne's Tuner does after a STOP
        else:
            scheduler.on_trial_complete(trial, result)
    assert stopped, "no trial was stopped: the forwarding went untested"
    state = searcher.session.state()
    assert len(state["pruned"]) == len(stopped)
    assert len(state["complete"]) == 15 - len(stopped)
    _, pending = searcher.session.history()
    assert pending == []  # nothing left waiting for an answer Syne never sends
    # the last metric reached the searcher in its minimised convention: its score is the accuracy
    assert sorted(v for _, v in state["pruned"]) == pytest.approx(sorted(stopped.values()))


def test_stopping_rule_decides_only_at_decision_steps_and_after_warm_up(curves):
    from nas_meta_tune.curves import CompletedCurve, CurveTracker, LCStoppingRule

    best = max(curves, key=lambda c: c.final)
    worst = min(curves, key=lambda c: c.final)
    rule = LCStoppingRule(max_step=EPOCHS, min_step=5, interval=5, value_range=(0, 100))
    done = [CompletedCurve(best.steps, best.values)]
    reasons = {}
    for k in (3, 5, 6, 9, 10, 12, EPOCHS):
        reasons[k] = rule.decide(worst.steps[:k], worst.values[:k], done).reason
    assert reasons[3].startswith("warm-up") and reasons[6] == reasons[9] == "between decision steps"
    assert reasons[EPOCHS] == "curve already at max_step"
    assert rule.decide(
        worst.steps[:10], worst.values[:10], done
    ).stop  # far below the best: stopped at step 10
    # a report that jumps over a decision step (missing epochs 10, 11) is decided on
    s = np.r_[worst.steps[:9], worst.steps[11:12]]
    assert rule.decide(s, worst.values[s.astype(int) - 1], done).reason != "between decision steps"
    assert not rule.decide(worst.steps[:10], worst.values[:10], []).stop  # nothing completed yet
    # the tracker negates a minimised metric and keeps completed curves as references
    tracker = CurveTracker(
        LCStoppingRule(max_step=EPOCHS, min_step=5, value_range=(-100, 0)), mode="min"
    )
    for s_, v in zip(best.steps, best.values):
        tracker.record("best", s_, 100 - v)
    tracker.on_complete("best")
    assert tracker.completed[0].final == pytest.approx(-(100 - best.final))
    stops = [
        tracker.on_result("w", s_, 100 - v).stop
        for s_, v in zip(worst.steps[:12], worst.values[:12])
    ]
    assert any(stops) and not any(stops[:4])


def test_a_rerun_of_the_best_curve_is_never_pruned(curves):
    # the calibration widens the prediction to the errors seen on completed curves: a curve equal
    # to the best completed one must survive every decision step (it was pruned at step 6 when the
    # widening rescaled the ensemble's capped samples instead of replacing them)
    from nas_meta_tune.curves import CompletedCurve, LCStoppingRule

    for best in sorted(curves, key=lambda c: c.final)[-3:]:
        rule = LCStoppingRule(max_step=EPOCHS, min_step=5, value_range=(0, 100))
        done = [CompletedCurve(best.steps, best.values)]
        for k in range(5, EPOCHS):
            d = rule.decide(best.steps[:k], best.values[:k], done)
            assert not d.stop, (k, d.reason)


def test_a_flat_partial_curve_is_not_pruned_with_certainty(curves):
    from nas_meta_tune.curves import CompletedCurve, LCStoppingRule

    # a flat start says nothing of where the curve goes: it was a point mass (P = 0, pruned
    # whenever the best ended higher at all); now the same wide fallback as a too-short curve
    ref = min(curves, key=lambda c: c.final)
    done = [CompletedCurve(ref.steps, ref.values)]
    flat = [ref.final - 5.0] * 3
    for kwargs in ({"calibrate": False}, {"method": "learned"}, {}, {"method": "pfn"}):
        rule = LCStoppingRule(max_step=EPOCHS, min_step=3, value_range=(0, 100), **kwargs)
        d = rule.decide([1, 2, 3], flat, done)
        assert not d.stop and d.prob > 0.3, (kwargs, d.reason)
    d = LCStoppingRule(max_step=EPOCHS, min_step=3, calibrate=False).decide([1, 2, 3], flat, done)
    assert d.prob > 0.0, d.reason  # no value range: still not a certainty


def test_ray_scheduler_keeps_the_curve_of_a_trial_ray_recovers():
    from ray.tune.experiment import Trial

    from nas_meta_tune.schedulers import LCExtrapolationScheduler

    s = LCExtrapolationScheduler(max_t=EPOCHS, metric="acc", mode="max", time_attr="epoch")
    trial = Trial("__fake", stub=True)
    for epoch in (1, 2, 3):
        s.on_trial_result(None, trial, {"epoch": epoch, "acc": 10.0 * epoch})
    trial.set_status(Trial.ERROR)  # how Ray's controller hands over a trial it will requeue
    s.on_trial_error(None, trial)
    assert s._tracker._running[trial.trial_id] == {1.0: 10.0, 2.0: 20.0, 3.0: 30.0}
    trial.set_status(Trial.RUNNING)  # a final failure: the partial curve is dropped
    s.on_trial_error(None, trial)
    assert trial.trial_id not in s._tracker._running


def test_optuna_pruner_warns_once_about_step_zero(caplog):
    import logging

    import optuna

    from nas_meta_tune.schedulers import LCExtrapolationPruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = LCExtrapolationPruner(max_step=10, min_step=2)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    with caplog.at_level(logging.WARNING, logger="nas_meta_tune"):
        for _ in range(2):
            trial = study.ask()
            for epoch in range(3):  # epochs from 0
                trial.report(float(epoch), epoch)
                assert trial.should_prune() in (True, False)
            study.tell(trial, 2.0)
    assert sum("step <= 0" in r.getMessage() for r in caplog.records) == 1
    completed = pruner.completed_curves(study)
    assert all(c.steps.min() >= 1 for c in completed)


@pytest.mark.slow
def test_syne_scheduler_runs_in_a_real_tuner(curves, tmp_path):
    # Syne Tune's Tuner asks the scheduler for metric_names()/metric_mode(); trials replay real
    # LCBench-surrogate curves from a file through the local backend
    pytest.importorskip("syne_tune")
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend import LocalBackend
    from syne_tune.config_space import choice
    from syne_tune.optimizer.schedulers.single_objective_scheduler import SingleObjectiveScheduler

    from nas_meta_tune.schedulers import LCExtrapolationSyneScheduler

    np.save(tmp_path / "curves.npy", np.stack([c.values for c in curves[:12]]))
    script = tmp_path / "replay.py"
    script.write_text(
        "import argparse, numpy as np\n"
        "from syne_tune import Reporter\n"
        "p = argparse.ArgumentParser(); p.add_argument('--i', type=int); p.add_argument('--file')\n"
        "a = p.parse_known_args()[0]; report = Reporter()\n"
        "for e, v in enumerate(np.load(a.file)[a.i], start=1):\n"
        "    report(epoch=e, acc=float(v))\n"
    )
    config_space = {"i": choice(list(range(12))), "file": str(tmp_path / "curves.npy")}
    scheduler = LCExtrapolationSyneScheduler(
        SingleObjectiveScheduler(
            config_space, metric="acc", do_minimize=False, searcher="random_search", random_seed=0
        ),
        metric="acc",
        mode="max",
        time_attr="epoch",
        max_t=EPOCHS,
        grace_period=5,
        value_range=(0, 100),
    )
    assert scheduler.metric_names() == ["acc"] and scheduler.metric_mode() == "max"
    Tuner(
        trial_backend=LocalBackend(entry_point=str(script)),
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_num_trials_finished=6),
        n_workers=2,
        sleep_time=0.1,
        results_update_interval=1,
        save_tuner=False,
        tuner_name="lc-syne-test",
    ).run()
    assert len(scheduler.tracker.completed) >= 1
    assert not scheduler._stopped  # Syne removes stopped trials: nothing is left behind


@pytest.mark.parametrize("method", ["parametric", "learned"])
def test_pruner_with_no_arguments_infers_max_step(method):
    """Synthetic saturating curves (a test of mechanics): LCExtrapolationPruner() needs no
    max_step; it predicts for the longest completed curve's last step, prunes nothing before a
    trial completes, and the learned method decides with the calibrated parametric rule until 5
    curves have completed."""
    import optuna

    from nas_meta_tune.schedulers import LCExtrapolationPruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(0)

    def objective(trial):
        a = trial.suggest_float("a", 0.1, 1.0)
        for e in range(1, 21):
            v = a * (1 - np.exp(-e / 5)) + 0.01 * rng.standard_normal()
            trial.report(v, e)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return v

    pruner = LCExtrapolationPruner(method=method)
    assert "max_step=auto" in repr(pruner.rule_for(1.0))
    study = optuna.create_study(
        direction="maximize", pruner=pruner, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    study.optimize(objective, n_trials=12)
    states = [t.state for t in study.trials]
    assert states[0] == optuna.trial.TrialState.COMPLETE  # nothing to compare with yet
    assert optuna.trial.TrialState.PRUNED in states
    assert pruner.rule_for(1.0).target_step([]) is None
    best_a = max(t.params["a"] for t in study.trials)
    kept = max(
        (t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE),
        key=lambda t: t.value,
    )
    assert kept.params["a"] >= best_a - 0.15  # the best configuration is not lost
    if method == "learned":
        reasons = [pruner.last_decision.reason]
        assert reasons and pruner.last_decision is not None


def test_ray_and_syne_schedulers_need_no_max_t():
    """Synthetic curves (mechanics): the schedulers' tracker with max_step inferred: no stop
    before a curve completes, then predictions for that curve's last step."""
    from nas_meta_tune.curves import CurveTracker, LCStoppingRule

    tracker = CurveTracker(LCStoppingRule(min_step=3), mode="max")
    steps = np.arange(1, 31)
    good, bad = 0.9 * (1 - np.exp(-steps / 6)), 0.3 * (1 - np.exp(-steps / 6))
    for e in steps[:10]:
        assert not tracker.on_result("bad", e, bad[e - 1]).stop  # nothing completed yet
    tracker.on_remove("bad")
    for e in steps:
        tracker.on_result("good", e, good[e - 1])
    tracker.on_complete("good")
    assert tracker.rule.target_step(tracker.completed) == 30
    decisions = [tracker.on_result("bad2", e, bad[e - 1]) for e in steps[:10]]
    assert any(d.stop for d in decisions)
    pytest.importorskip("ray")
    from nas_meta_tune.schedulers import LCExtrapolationScheduler

    assert LCExtrapolationScheduler(metric="acc", mode="max")._tracker.rule.max_step is None
