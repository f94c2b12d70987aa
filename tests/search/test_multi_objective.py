"""Multi-objective proposals (issue 27): the Pareto/hypervolume arithmetic on synthetic points
(mechanics), and ParetoProposer / MetaNASSampler on the real NB201 table (accuracy vs
parameter count)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from nas_meta_tune import get_space
from nas_meta_tune.search import MetaNASProposer, ParetoProposer
from nas_meta_tune.search.multi import hypervolume_2d, hypervolume_improvement_2d, pareto_mask


def _brute_hv(points: np.ndarray, ref: np.ndarray, grid: int = 400) -> float:
    xs = np.linspace(ref[0], points[:, 0].max(), grid + 1)
    ys = np.linspace(ref[1], points[:, 1].max(), grid + 1)
    cx, cy = (xs[1:] + xs[:-1]) / 2, (ys[1:] + ys[:-1]) / 2
    gx, gy = np.meshgrid(cx, cy, indexing="ij")
    dom = ((points[:, 0][:, None, None] >= gx) & (points[:, 1][:, None, None] >= gy)).any(0)
    return float(dom.sum() * (xs[1] - xs[0]) * (ys[1] - ys[0]))


def test_pareto_mask_keeps_exactly_the_non_dominated_points():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(60, 2))
    mask = pareto_mask(p)
    for i, j in itertools.product(range(60), range(60)):
        if (p[j] >= p[i]).all() and (p[j] > p[i]).any():
            assert not mask[i]
    for i in np.flatnonzero(mask):
        assert not any((p[j] >= p[i]).all() and (p[j] > p[i]).any() for j in range(60))


@pytest.mark.parametrize("m", [2, 3])
def test_pareto_mask_matches_all_pairs_with_ties_duplicates_and_nan(m):
    rng = np.random.default_rng(m)
    for _ in range(50):
        p = rng.integers(0, 4, size=(int(rng.integers(1, 40)), m)).astype(float)
        p[rng.integers(len(p))] = np.nan  # comparable to none: kept
        p[rng.integers(len(p)), 0] = -np.inf
        ge = (p[:, None, :] >= p[None, :, :]).all(-1)
        gt = (p[:, None, :] > p[None, :, :]).any(-1)
        assert (pareto_mask(p) == ~(ge & gt).any(0)).all()


def test_hypervolume_and_its_improvement_are_exact():
    rng = np.random.default_rng(1)
    pts = rng.uniform(size=(12, 2))
    ref = np.array([0.0, 0.0])
    assert hypervolume_2d(pts, ref) == pytest.approx(_brute_hv(pts, ref), rel=1e-2)
    cand = rng.uniform(size=(30, 2))
    hvi = hypervolume_improvement_2d(pts, ref, cand[:, 0], cand[:, 1])
    for (x, y), h in zip(cand, hvi):
        both = np.vstack([pts, [x, y]])
        assert h == pytest.approx(hypervolume_2d(both, ref) - hypervolume_2d(pts, ref), abs=1e-12)
        assert h >= 0
    # points below the reference and dominated points add nothing
    assert hypervolume_improvement_2d(pts, ref, np.array([-1.0]), np.array([5.0]))[0] == 0
    assert hypervolume_2d(np.zeros((0, 2)), ref) == 0


@pytest.fixture(scope="module")
def table(data_root):
    from nas_meta_tune import load_benchmark
    from nas_meta_tune.predictors.tasks import load_task

    t = load_task("nb201/cifar100", data_root)
    cost = load_benchmark("nb201", data_root).values(t.archs, "cifar100", "params")
    acc = {a.key: float(s) for a, s in zip(t.archs, t.scores)}
    params = {a.key: float(c) for a, c in zip(t.archs, cost)}
    return t.space, acc, params


@pytest.fixture(scope="module")
def predictor():
    from nas_meta_tune.predictors import MetaPredictor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MetaPredictor.pretrained()


def _run(space, acc, params, predictor, *, seed, known, trials=8, n=1):
    base = MetaNASProposer(space, predictor, seed=seed)
    mo = ParetoProposer(base, 2, costs={1: lambda a: params[a.key]} if known else None, seed=seed)
    mo.set_signs([1.0, -1.0])
    hist, modes = [], []
    while len(hist) < trials:
        for a in mo.propose(hist, [], n=n):
            hist.append((a, (acc[a.key], -params[a.key])))
        modes.append(mo.last_info["mode"])
    return [a.key for a, _ in hist], modes


@pytest.mark.parametrize("known", [True, False])
@pytest.mark.slow
def test_pareto_proposals_are_distinct_seeded_and_move_from_prior_to_ehvi(table, predictor, known):
    space, acc, params = table
    a, modes = _run(space, acc, params, predictor, seed=0, known=known)
    b, _ = _run(space, acc, params, predictor, seed=0, known=known)
    c, _ = _run(space, acc, params, predictor, seed=1, known=known)
    assert len(set(a)) == len(a) == 8
    assert a == b  # same seed, same study
    assert a != c  # seeds are replicates, not one run repeated
    assert modes[0] == ("prior-front" if known else "prior") and modes[-1] == "ehvi"
    # an unknown cost: a few spread-out proposals before its GP is fitted on enough values
    assert ("design" in modes) == (not known)


def test_pareto_batches_are_distinct_and_avoid_pending(table, predictor):
    space, acc, params = table
    keys, modes = _run(space, acc, params, predictor, seed=0, known=True, trials=9, n=3)
    assert len(set(keys)) == 9 and "ehvi" in modes
    base = MetaNASProposer(space, predictor, seed=0)
    mo = ParetoProposer(base, 2, costs={1: lambda x: params[x.key]}, seed=0)
    pending = space.sample(5, seed=3)
    got = mo.propose([], pending, n=4)
    assert not {x.key for x in got} & {x.key for x in pending}


def test_pareto_proposer_rejects_what_it_cannot_do(table, predictor):
    space, _, params = table
    base = MetaNASProposer(space, predictor, seed=0)
    with pytest.raises(ValueError, match="two objectives"):
        ParetoProposer(base, 3)
    with pytest.raises(ValueError, match="costs must map"):
        ParetoProposer(base, 2, costs={0: len})  # the learned objective has no cost function
    mo = ParetoProposer(base, 2)
    a = space.sample(1, seed=0)[0]
    with pytest.raises(ValueError, match="1 values for a study of 2"):
        mo.propose([(a, (1.0,))])


def test_meta_nas_sampler_runs_a_two_objective_study(table, predictor):
    optuna = pytest.importorskip("optuna")
    from nas_meta_tune.samplers import MetaNASSampler

    space, acc, params = table
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        arch = space.suggest(trial)
        return acc[arch.key], params[arch.key]

    sampler = MetaNASSampler(space, predictor, seed=0, costs={1: lambda a: params[a.key]})
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=8, n_jobs=2)
    keys = [space.from_params(t.params).key for t in study.trials]
    assert len(set(keys)) == len(keys) == 8  # two workers, no architecture twice
    assert study.best_trials
    assert sampler.session._pareto is not None and sampler.session._pareto.last_info


@pytest.mark.slow  # two short studies with the shipped predictor
def test_constraints_set_in_the_objective_rank_infeasible_trials_last(predictor):
    """Optuna >= 5's ``trial.set_constraint``: an infeasible trial is learned from below every
    feasible one, in one and in two objectives (a mechanics test on a synthetic objective)."""
    optuna = pytest.importorskip("optuna")
    if not hasattr(optuna.trial.Trial, "set_constraint"):
        pytest.skip("trial.set_constraint needs Optuna >= 5")
    from nas_meta_tune.samplers import MetaNASSampler

    space = get_space("nb201")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def convs(arch):
        return sum("conv" in v for v in arch.to_params().values())

    def objective(trial):
        arch = space.suggest(trial)
        trial.set_constraint("convs", convs(arch) - 3.5)  # more than 3 convolutions: infeasible
        return float(convs(arch)) + 0.1 * ("skip_connect" in arch.to_params().values())

    sampler = MetaNASSampler(space, predictor, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=12)
    history, _ = sampler.history(study)
    feasible = [s for a, s in history if convs(a) <= 3]
    infeasible = [s for a, s in history if convs(a) > 3]
    assert feasible and infeasible, "the run should see both kinds"
    assert max(infeasible) < min(feasible)

    def two(trial):
        arch = space.suggest(trial)
        trial.set_constraint("convs", convs(arch) - 3.5)
        return float(convs(arch)), float(len(set(arch.to_params().values())))

    mo_sampler = MetaNASSampler(space, predictor, seed=0)
    mo = optuna.create_study(directions=["maximize", "minimize"], sampler=mo_sampler)
    mo.optimize(two, n_trials=8)
    mo_history, _ = mo_sampler.history(mo)
    worst_feasible = np.min([s for a, s in mo_history if convs(a) <= 3], axis=0)
    for a, s in mo_history:
        if convs(a) > 3:
            assert (np.asarray(s) < worst_feasible).all()


@pytest.mark.slow  # 10 proposals with the shipped predictor
def test_syne_searcher_under_syne_multi_objective_scheduler(table, predictor, tmp_path):
    """Syne Tune's own SingleFidelityScheduler with two metrics (both minimised, as Syne does)
    drives MetaNASSyneSearcher(n_objectives=2): the searcher is told both metrics, proposes along
    the Pareto front (no architecture twice), and keeps its mode across a checkpoint."""
    pytest.importorskip("syne_tune")
    from datetime import datetime

    from syne_tune.backend.trial_status import Trial
    from syne_tune.optimizer.schedulers.single_fidelity_scheduler import SingleFidelityScheduler

    from nas_meta_tune.integrations.syne import syne_config_space
    from nas_meta_tune.samplers import MetaNASSyneSearcher

    space, acc, params = table
    cs = syne_config_space(space)
    searcher = MetaNASSyneSearcher(
        cs,
        space=space,
        predictor=predictor,
        random_seed=0,
        n_objectives=2,
        costs={1: lambda a: params[a.key]},
    )
    scheduler = SingleFidelityScheduler(cs, metrics=["error", "params"], searcher=searcher)
    keys = []
    for trial_id in range(10):
        config = scheduler.suggest().config
        arch = space.from_params(config)
        keys.append(arch.key)
        result = {"error": 100.0 - acc[arch.key], "params": params[arch.key]}
        scheduler.on_trial_complete(Trial(trial_id, config, datetime.now()), result)
    assert len(set(keys)) == len(keys) == 10
    history = searcher.history
    assert len(history) == 10 and all(len(score) == 2 for _, score in history)
    assert searcher.session._pareto is not None and searcher.session._pareto.last_info["mode"]
    searcher.save(str(tmp_path / "mo.json"))
    again = MetaNASSyneSearcher(cs, space=space, predictor=predictor, random_seed=1)
    again.restore(str(tmp_path / "mo.json"))
    assert again.session.mode == ("min", "min") and len(again.history) == 10
    with pytest.raises(ValueError, match="mode must be"):
        MetaNASSyneSearcher(cs, space=space, predictor=predictor, n_objectives=0)
