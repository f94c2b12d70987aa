"""MetaNASSampler (Optuna), MetaNASSearch (Ray Tune) and MetaNASSyneSearcher on real benchmarks."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from nas_meta_tune import get_space, load_benchmark
from nas_meta_tune.exceptions import SpaceMismatchError
from nas_meta_tune.predictors import MetaPredictor
from nas_meta_tune.search import MetaNASProposer

optuna = pytest.importorskip("optuna")
from nas_meta_tune.integrations.ray import ray_param_space  # noqa: E402
from nas_meta_tune.integrations.syne import syne_config_space  # noqa: E402
from nas_meta_tune.samplers import MetaNASSampler  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def predictor():
    return MetaPredictor.pretrained()


@pytest.fixture(scope="module")
def nb201(data_root):
    bench = load_benchmark("nb201", data_root=data_root)
    archs, y = bench.table("cifar100")
    return get_space("nb201"), dict(zip((a.key for a in archs), y))


def _objective(space, table, sign=1.0):
    def objective(trial):
        arch = space.suggest(trial)
        return sign * table[arch.key]

    return objective


def _keys(study, space):
    return [
        space.from_params({k: v for k, v in t.params.items() if k in space.param_names}).key
        for t in study.trials
    ]


def test_proposer_first_proposal_is_zero_shot_best_with_initial_mean(predictor):
    space = get_space("transnas_micro")
    prop = MetaNASProposer(space, predictor, seed=0, initial="mean")
    first = prop.propose_one()
    archs = space.enumerate(unique=True)
    assert first.key == archs[int(np.argmax(predictor.predict(archs)))].key


@pytest.mark.parametrize("acquisition", ["log_ei", "ucb", "ei", "thompson", "mean"])
def test_first_proposals_come_from_the_zero_shot_top_and_differ_by_seed(predictor, acquisition):
    space = get_space("transnas_micro")
    archs = space.enumerate(unique=True)
    order = np.argsort(-predictor.predict(archs), kind="stable")
    top = {archs[i].key for i in order[:10]}
    top11 = {archs[i].key for i in order[:11]}  # the second: the top 10 of the others
    starts = set()
    for seed in range(6):
        prop = MetaNASProposer(space, predictor, seed=seed, acquisition=acquisition)
        first = prop.propose_one()
        second = prop.propose_one([(first, 0.5)])  # one score: still no GP, still the prior
        assert first.key in top and second.key in top11 and first.key != second.key
        starts.add(first.key)
    assert len(starts) > 1  # seeds are replicates, not one study repeated


def test_initial_is_validated(predictor):
    with pytest.raises(ValueError, match="initial must be one of"):
        MetaNASProposer("transnas_micro", predictor, initial="best")
    with pytest.raises(ValueError, match="initial_top"):
        MetaNASProposer("transnas_micro", predictor, initial_top=0)


class _BrokenPredictor(MetaPredictor):
    """A real predictor whose scoring raises: the failure the adapters must survive."""

    def predict(self, *args, **kwargs):
        raise RuntimeError("simulated predictor failure")


def test_a_failing_predictor_never_fails_a_trial(predictor, nb201, caplog):
    space, table = nb201
    broken = object.__new__(_BrokenPredictor)
    broken.__dict__.update(predictor.__dict__)  # the shipped weights, scoring that raises
    study = optuna.create_study(direction="maximize", sampler=MetaNASSampler(space, broken, seed=0))
    study.optimize(_objective(space, table), n_trials=4)
    states = {t.state for t in study.trials}
    assert states == {optuna.trial.TrialState.COMPLETE}
    assert len(set(_keys(study, space))) == 4
    assert any("predictor failed" in r.getMessage() for r in caplog.records)


def test_an_architecture_that_fails_is_not_proposed_again(predictor, nb201):
    space, table = nb201
    bad = []

    def objective(trial):
        arch = space.suggest(trial)
        if not bad or arch.key == bad[0]:
            bad.append(arch.key)
            raise RuntimeError("simulated crash of this architecture")
        return table[arch.key]

    study = optuna.create_study(
        direction="maximize", sampler=MetaNASSampler(space, predictor, seed=0)
    )
    study.optimize(objective, n_trials=5, catch=(RuntimeError,))
    assert len(bad) == 1  # before: the deterministic proposer chose it on all 5 trials
    assert len(set(_keys(study, space))) == 5


def test_enqueued_trials_are_pending_and_run_their_fixed_architecture(predictor, nb201):
    space, table = nb201
    sampler = MetaNASSampler(space, predictor, seed=0)
    first = MetaNASProposer(space, predictor, seed=0).propose_one()  # what trial 1 would get
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial(first.to_params())
    waiting = study.trials[0]
    assert [a.key for a in sampler.history(study)[1]] == [first.key]  # pending while enqueued
    fixed = waiting.system_attrs["fixed_params"]
    assert sampler.session.store.fixed_arch(fixed).key == first.key
    study.optimize(_objective(space, table), n_trials=2)
    keys = _keys(study, space)
    assert keys[0] == first.key and keys[1] != first.key


def test_pruned_trials_keep_their_spread_before_anything_completes(predictor, nb201):
    space, _ = nb201
    sampler = MetaNASSampler(space, predictor, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for value in (10.0, 30.0, 20.0):
        trial = study.ask()
        space.suggest(trial)
        trial.report(value, 1)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    history, _ = sampler.history(study)
    assert sorted(s for _, s in history) == [10.0, 20.0, 30.0]


def test_proposer_never_repeats_and_rejects_other_space(predictor):
    space = get_space("nb201")
    prop = MetaNASProposer(space, predictor, seed=0)
    hist = [(a, float(i)) for i, a in enumerate(space.sample(30, seed=1, unique=True))]
    pending = space.sample(5, seed=2)
    out = prop.propose(hist, pending, n=20)
    keys = {a.key for a in out}
    assert (
        len(keys) == 20
        and not keys & {a.key for a, _ in hist}
        and not keys & {a.key for a in pending}
    )
    with pytest.raises(SpaceMismatchError):
        prop.propose([(get_space("transnas_micro").sample(1, seed=0)[0], 1.0)])


def test_proposer_warm_continues_and_reinitialises(predictor, nb201):
    """The adaptation rule, per proposal (the dropout proposer adapts at every call; the GP
    proposer uses the same rule at each re-embedding of the space)."""
    space, table = nb201
    archs = space.sample(40, seed=3, unique=True)
    hist = [(a, table[a.key]) for a in archs]
    probe = space.sample(200, seed=4)
    prop = MetaNASProposer(
        space, predictor, seed=0, warm_steps=3, reinit_every=3, surrogate="dropout"
    )
    fresh = [
        predictor.adapt([a for a, _ in hist[:n]], [s for _, s in hist[:n]]).predict(probe)
        for n in (20, 21, 22, 23)
    ]
    got = []
    for n in (20, 21, 22, 23):
        prop.propose(hist[:n])
        got.append(prop.last_adapted.predict(probe))
    # 1st and 4th proposals re-adapt from the meta-init; 2nd and 3rd continue the previous weights
    np.testing.assert_allclose(got[0], fresh[0], atol=1e-5)
    np.testing.assert_allclose(got[3], fresh[3], atol=1e-5)
    assert not np.allclose(got[1], fresh[1], atol=1e-4) and not np.allclose(
        got[2], fresh[2], atol=1e-4
    )
    # a history that is not a superset of the last one (another study) re-adapts from the meta-init
    prop.propose(hist[:20])
    prop.propose(hist[20:40])
    np.testing.assert_allclose(
        prop.last_adapted.predict(probe),
        predictor.adapt([a for a, _ in hist[20:40]], [s for _, s in hist[20:40]]).predict(probe),
        atol=1e-5,
    )
    # warm_steps=None: a proposal depends on the history only, whatever came before
    cold = MetaNASProposer(space, predictor, seed=0, warm_steps=None, surrogate="dropout")
    cold.propose(hist[:30])
    cold.propose(hist[:31])
    np.testing.assert_allclose(
        cold.last_adapted.predict(probe),
        predictor.adapt([a for a, _ in hist[:31]], [s for _, s in hist[:31]]).predict(probe),
        atol=1e-5,
    )


def test_short_histories_always_re_adapt_from_the_meta_initialisation(predictor, nb201):
    space, table = nb201
    hist = [(a, table[a.key]) for a in space.sample(8, seed=6, unique=True)]
    probe = space.sample(100, seed=7)
    prop = MetaNASProposer(
        space, predictor, seed=0, warm_steps=3, reinit_every=50, warm_after=6, surrogate="dropout"
    )
    for n in (3, 4, 5, 6, 7):
        prop.propose(hist[:n])
        fresh = predictor.adapt([a for a, _ in hist[:n]], [s for _, s in hist[:n]]).predict(probe)
        got = prop.last_adapted.predict(probe)
        if n < 6:  # below warm_after: a full adaptation from the meta-initialisation
            np.testing.assert_allclose(got, fresh, atol=1e-5)
        elif n == 7:  # from warm_after on: continues the previous weights
            assert not np.allclose(got, fresh, atol=1e-4)
    with pytest.raises(ValueError, match="warm_after"):
        MetaNASProposer(space, predictor, warm_after=-1)


def test_auto_adapt_steps_cross_validates_each_re_adaptation(predictor, nb201):
    space, table = nb201
    hist = [(a, table[a.key]) for a in space.sample(12, seed=8, unique=True)]
    prop = MetaNASProposer(
        space, predictor, seed=0, adapt_steps="auto", warm_steps=None, surrogate="dropout"
    )
    prop.propose(hist)
    assert prop.last_adapted.adapt_info["selected"]
    chosen = prop.last_adapted.adapt_info["steps"]
    fixed = predictor.adapt([a for a, _ in hist], [s for _, s in hist], steps=chosen)
    probe = space.sample(100, seed=9)
    np.testing.assert_allclose(prop.last_adapted.predict(probe), fixed.predict(probe), atol=1e-5)
    with pytest.raises(ValueError, match="warm_steps"):
        MetaNASProposer(space, predictor, warm_steps="auto")
    with pytest.raises(ValueError, match="adapt_steps"):
        MetaNASProposer(space, predictor, adapt_steps="cv")


@pytest.mark.slow
def test_shortlist_is_re_ranked_by_the_adapted_predictor(predictor, nb201):
    """The dropout proposer (the GP proposer scores the whole space): nb201 (6,466 unique
    cells) is larger than score_limit, so candidates come from a shortlist: the zero-shot model's favourites first, then the adapted model's, refreshed every
    refresh_every evaluations (refresh_every=None keeps the first)."""
    space, table = nb201
    full = space.enumerate(unique=True)
    hist = [(a, table[a.key]) for a in space.sample(12, seed=5, unique=True)]

    def top(model, k=225):  # the three quarters of score_limit=300 ranked best
        return {full[i].key for i in np.argsort(-model.predict(full), kind="stable")[:k]}

    prop = MetaNASProposer(
        space, predictor, seed=0, score_limit=300, refresh_every=5, surrogate="dropout"
    )
    frozen = MetaNASProposer(
        space, predictor, seed=0, score_limit=300, refresh_every=None, surrogate="dropout"
    )
    for p in (prop, frozen):
        p.propose()
    zero_shot = {a.key for a in prop._shortlist[1]}
    assert len(zero_shot) == 300 and top(predictor) <= zero_shot
    prop.propose(hist[:5])
    frozen.propose(hist[:5])
    first = {a.key for a in prop._shortlist[1]}
    assert prop._shortlist[0] == 5 and top(prop.last_adapted) <= first
    assert len(first - zero_shot) > 50  # what the 5 evaluations taught reaches the shortlist
    assert {a.key for a in frozen._shortlist[1]} == zero_shot
    prop.propose(hist[:7])  # fewer than refresh_every new evaluations: the same shortlist
    assert prop._shortlist[0] == 5 and {a.key for a in prop._shortlist[1]} == first
    prop.propose(hist[:10])
    assert prop._shortlist[0] == 10 and top(prop.last_adapted) <= {
        a.key for a in prop._shortlist[1]
    }
    prop.propose(hist[:3])  # a shorter history (another study): ranked again for it
    assert prop._shortlist[0] == 3 and top(prop.last_adapted) <= {a.key for a in prop._shortlist[1]}
    prop.set_state(prop.state())  # a restore drops the shortlist with the warm model
    assert prop._shortlist is None
    # refresh_every=None ranks with the meta-initialisation even when its first call has a history
    late = MetaNASProposer(
        space, predictor, seed=0, score_limit=300, refresh_every=None, surrogate="dropout"
    )
    late.propose(hist[:10])
    assert top(predictor) <= {a.key for a in late._shortlist[1]}
    # a numpy Generator as seed (which as_generator accepts) draws the random quarter from it
    gen = MetaNASProposer(
        space, predictor, seed=np.random.default_rng(1), score_limit=300, surrogate="dropout"
    )
    assert gen.propose(hist[:5]) and len(gen._shortlist[1]) == 300
    with pytest.raises(ValueError, match="refresh_every"):
        MetaNASProposer(space, predictor, refresh_every=0)


@pytest.mark.slow
def test_optuna_study_maximize_and_minimize(nb201, predictor):
    space, table = nb201
    best = max(table.values())
    for direction, sign in (("maximize", 1.0), ("minimize", -1.0)):
        study = optuna.create_study(
            direction=direction, sampler=MetaNASSampler(space, predictor, seed=0)
        )
        study.optimize(_objective(space, table, sign), n_trials=12)
        keys = _keys(study, space)
        assert len(set(keys)) == 12, "no architecture twice"
        regret = best - sign * study.best_value
        assert regret < 3.0, (
            f"{direction}: regret {regret:.2f} after 12 trials (random's median is ~10)"
        )
    # same seed, same proposals
    again = optuna.create_study(
        direction="minimize", sampler=MetaNASSampler(space, predictor, seed=0)
    )
    again.optimize(_objective(space, table, -1.0), n_trials=12)
    assert _keys(again, space) == keys


def test_one_sampler_on_two_studies_reads_each_study_own_trials(nb201, predictor):
    # finished trials' records are cached: a second in-memory study (same study id 0, same
    # trial ids) must not be read through the first one's cache
    space, table = nb201
    sampler = MetaNASSampler(space, predictor, seed=0)
    first = optuna.create_study(direction="maximize", sampler=sampler)
    first.optimize(_objective(space, table, 1.0), n_trials=4)
    second = optuna.create_study(direction="maximize", sampler=sampler)
    last = first.trials[-1].params  # trial id 3 there; the enqueued one is trial id 0 here
    second.enqueue_trial(last)
    second.optimize(_objective(space, table, 1.0), n_trials=1)
    evaluated, _ = sampler.history(second)
    assert [a.key for a, _ in evaluated] == [space.from_params(last).key]
    assert len(sampler.history(first)[0]) == 4


def test_joint_arch_and_lr_objective_and_threads(nb201, predictor):
    space, table = nb201

    def objective(trial):
        arch = space.suggest(trial)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        return table[arch.key] - abs(math.log10(lr) + 2)  # a real table plus a synthetic lr term

    study = optuna.create_study(
        direction="maximize", sampler=MetaNASSampler(space, predictor, seed=1)
    )
    study.optimize(objective, n_trials=10, n_jobs=2)
    assert len(study.trials) == 10 and all("lr" in t.params for t in study.trials)
    assert len(set(_keys(study, space))) == 10


@pytest.mark.slow
def test_failed_pruned_and_nan_trials_keep_the_study_running(nb201, predictor):
    space, table = nb201
    calls = {"n": 0}

    def objective(trial):
        arch = space.suggest(trial)
        calls["n"] += 1
        if calls["n"] % 5 == 1:
            raise RuntimeError("training crashed")
        if calls["n"] % 5 == 2:
            return float("nan")
        if calls["n"] % 5 == 3:
            trial.report(table[arch.key] - 5, step=1)
            raise optuna.TrialPruned()
        return table[arch.key]

    sampler = MetaNASSampler(space, predictor, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=15, catch=(RuntimeError,))
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) == 6  # the crashes and the NaN values
    assert states.count(optuna.trial.TrialState.PRUNED) == 3
    history, pending = sampler.history(study)
    assert len(history) == 6 + 3  # COMPLETE plus PRUNED with an intermediate value
    scores = {a.key: s for a, s in history}
    cap = float(
        np.median([t.value for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
    )
    for t in study.trials:
        key = space.from_params(t.params).key
        if (
            t.state == optuna.trial.TrialState.PRUNED
        ):  # the last intermediate value, capped at the median
            assert scores[key] == pytest.approx(min(t.intermediate_values[1], cap))
        elif t.state == optuna.trial.TrialState.COMPLETE:
            assert scores[key] == pytest.approx(t.value)


@pytest.mark.slow
def test_sqlite_resume_and_space_mismatch(nb201, predictor, tmp_path):
    space, table = nb201
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study = optuna.create_study(
        study_name="s",
        storage=url,
        direction="maximize",
        sampler=MetaNASSampler(space, predictor, seed=0),
    )
    study.optimize(_objective(space, table), n_trials=5)
    resumed = optuna.load_study(
        study_name="s", storage=url, sampler=MetaNASSampler(space, predictor, seed=5)
    )
    resumed.optimize(_objective(space, table), n_trials=5)
    assert len(set(_keys(resumed, space))) == 10
    # a sampler for another space with the same parameter names but other choices is refused
    other = optuna.load_study(
        study_name="s", storage=url, sampler=MetaNASSampler("transnas_micro", predictor, seed=0)
    )
    with pytest.raises(SpaceMismatchError, match="another search space"):
        other.optimize(lambda t: get_space("transnas_micro").suggest(t) and 0.0, n_trials=1)


def test_trial_half_way_through_its_suggest_calls_is_pending_not_a_mismatch(nb201, predictor):
    # another worker has suggested only some of the cell's edges so far (seen on CI with a journal)
    space, table = nb201
    study = optuna.create_study(
        direction="maximize", sampler=MetaNASSampler(space, predictor, seed=0)
    )
    half = study.ask()
    for param in space.params[:2]:
        half.suggest_categorical(param.name, list(param.choices))
    full = study.ask()
    arch = space.suggest(full)
    claimed = space.from_string(
        study._storage.get_trial(half._trial_id).system_attrs["nas_meta_tune:proposal"]
    )
    assert arch.key != claimed.key
    study.tell(full, table[arch.key])
    # the half-suggested trial is still pending: its claim is not proposed again
    nxt = study.ask()
    assert space.suggest(nxt).key != claimed.key


@pytest.mark.slow
def test_journal_storage_with_two_processes(nb201, tmp_path, data_root):
    journal = tmp_path / "journal.log"
    worker = textwrap.dedent(
        f"""
        import optuna
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend
        from nas_meta_tune import get_space, load_benchmark
        from nas_meta_tune.samplers import MetaNASSampler
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        space = get_space("nb201")
        archs, y = load_benchmark("nb201", data_root={str(data_root)!r}).table("cifar100")
        table = dict(zip((a.key for a in archs), y))
        storage = JournalStorage(JournalFileBackend({str(journal)!r}))
        study = optuna.create_study(study_name="j", storage=storage, direction="maximize",
                                    sampler=MetaNASSampler(space), load_if_exists=True)
        study.optimize(lambda t: table[space.suggest(t).key], n_trials=6)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", worker], stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    study = optuna.load_study(
        study_name="j", storage=JournalStorage(JournalFileBackend(str(journal)))
    )
    space = get_space("nb201")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 12
    keys = _keys(study, space)
    # two processes may race on one proposal before either trial is RUNNING: allow at most one clash
    assert len(set(keys)) >= 11


def test_more_than_two_objectives_are_refused_naming_the_limit(predictor):
    # two objectives are searched (tests/search/test_multi_objective.py); three are not yet
    study = optuna.create_study(
        directions=["maximize", "minimize", "minimize"], sampler=MetaNASSampler("nb201", predictor)
    )
    with pytest.raises(ValueError, match="two objectives"):
        study.optimize(lambda t: (get_space("nb201").suggest(t) and 1.0, 2.0, 3.0), n_trials=1)


def test_sampler_pickles_with_its_predictor(nb201, predictor):
    space, table = nb201
    sampler = MetaNASSampler(space, predictor, seed=0)
    clone = pickle.loads(pickle.dumps(sampler))
    a = optuna.create_study(direction="maximize", sampler=sampler)
    b = optuna.create_study(direction="maximize", sampler=clone)
    a.optimize(_objective(space, table), n_trials=3)
    b.optimize(_objective(space, table), n_trials=3)
    assert _keys(a, space) == _keys(b, space)


@pytest.mark.slow
def test_ray_tune_searcher_with_concurrency_limit_and_restore(
    ray_cluster, nb201, predictor, tmp_path
):
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter

    from nas_meta_tune.samplers import MetaNASSearch

    space, table = nb201

    def trainable(config):
        arch = space.from_params(config)
        tune.report({"acc": table[arch.key]})

    searcher = MetaNASSearch(space, predictor, metric="acc", mode="max", seed=0)
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=2), num_samples=8
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="meta", verbose=0),
    )
    results = tuner.fit()
    assert len(results) == 8 and not results.errors
    keys = [space.from_params(r.config).key for r in results]
    assert len(set(keys)) == 8
    assert len(searcher.history) == 8
    # save / restore keeps the history: the restored searcher never proposes those again
    path = tmp_path / "searcher.pkl"
    searcher.save(str(path))
    fresh = MetaNASSearch(space, predictor, seed=0)
    with pytest.raises(ValueError, match="metric and mode"):
        fresh.suggest("t-early")
    fresh.restore(str(path))
    assert [a.key for a, _ in fresh.history] == [a.key for a, _ in searcher.history]
    nxt = space.from_params(fresh.suggest("t-next"))
    assert nxt.key not in set(keys)


@pytest.mark.slow
def test_ray_optuna_search_with_meta_sampler(ray_cluster, nb201, predictor, tmp_path):
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    space, table = nb201

    def trainable(config):
        tune.report({"acc": table[space.from_params(config).key]})

    search = OptunaSearch(
        space=None, sampler=MetaNASSampler(space, predictor, seed=0), metric="acc", mode="max"
    )
    tuner = tune.Tuner(
        trainable,
        param_space=ray_param_space(space),
        tune_config=tune.TuneConfig(search_alg=search, num_samples=4),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="optuna", verbose=0),
    )
    results = tuner.fit()
    assert len(results) == 4 and not results.errors
    search.save(str(tmp_path / "optuna_search.pkl"))  # pickles the sampler


@pytest.mark.slow
def test_syne_tune_local_backend(nb201, predictor, tmp_path, data_root):
    pytest.importorskip("syne_tune")
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend import LocalBackend
    from syne_tune.optimizer.schedulers.single_objective_scheduler import SingleObjectiveScheduler

    from nas_meta_tune.integrations.syne import benchmark_entry_point
    from nas_meta_tune.samplers import MetaNASSyneSearcher

    space, _ = nb201
    config_space = {
        **syne_config_space(space),
        "benchmark": "nb201",
        "task": "cifar100",
        "data_root": str(data_root),
    }
    searcher = MetaNASSyneSearcher(config_space, space=space, predictor=predictor, random_seed=0)
    scheduler = SingleObjectiveScheduler(
        config_space, metric="valid", do_minimize=False, searcher=searcher
    )
    tuner = Tuner(
        trial_backend=LocalBackend(entry_point=benchmark_entry_point()),
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_num_trials_finished=4),
        n_workers=2,
        sleep_time=0.2,
        results_update_interval=1,
        save_tuner=False,
        tuner_name="meta-nas-test",
    )
    tuner.run()
    assert len(searcher.history) >= 4
    keys = [a.key for a, _ in searcher.history]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("method", ["syne_re", "syne_bore"])
@pytest.mark.slow
def test_syne_tune_baselines_are_seeded_and_leave_the_global_rng_alone(method, data_root):
    pytest.importorskip("syne_tune")
    from nas_meta_tune.integrations.experiments.runs import run_method

    task = "transnas_micro/jigsaw"
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = run_method(method, task, n_trials=12, seed=0, data_root=data_root)
    assert np.array_equal(np.random.get_state()[1], before)
    b = run_method(method, task, n_trials=12, seed=0, data_root=data_root)
    c = run_method(method, task, n_trials=12, seed=1, data_root=data_root)
    assert a["values"] == b["values"] and a["values"] != c["values"]
    assert len(a["values"]) == 12 and np.all(np.diff(a["regret"]) <= 0) and min(a["regret"]) >= 0


def test_ray_searcher_fills_every_key_and_keeps_mode_across_restore(predictor, tmp_path):
    pytest.importorskip("ray")
    from ray import tune

    from nas_meta_tune.samplers import MetaNASSearch

    space = get_space("darts")  # conditional parameters: inactive ones need a value in Ray too
    searcher = MetaNASSearch(space, predictor, seed=0)
    param_space = {**ray_param_space(space), "lr": tune.loguniform(1e-4, 1e-1), "epochs": 3}
    assert searcher.set_search_properties("acc", "max", param_space)
    config = searcher.suggest("t0")
    assert set(config) == set(param_space)
    assert not any(hasattr(v, "sample") for v in config.values())
    assert 1e-4 <= config["lr"] <= 1e-1 and config["epochs"] == 3
    assert space.from_params(config).key == searcher.session.live["t0"].key
    searcher.on_trial_complete("t0", {"acc": 50.0})
    # a checkpoint saved before metric/mode were known does not erase them on restore
    blank = MetaNASSearch(space, predictor, seed=0)
    blank.save(str(tmp_path / "blank.pkl"))
    searcher.restore(str(tmp_path / "blank.pkl"))
    assert (searcher._metric, searcher._mode) == ("acc", "max")
    with pytest.raises(ValueError, match="mode"):
        blank.add_evaluated_point(space.from_params(config).to_params(), 1.0)


def test_syne_searcher_fills_every_key_of_a_conditional_space(predictor):
    pytest.importorskip("syne_tune")
    from syne_tune.config_space import loguniform

    from nas_meta_tune.samplers import MetaNASSyneSearcher

    space = get_space("darts")
    config_space = {**syne_config_space(space), "lr": loguniform(1e-4, 1e-1), "epochs": 3}
    searcher = MetaNASSyneSearcher(config_space, space=space, predictor=predictor, random_seed=0)
    config = searcher.suggest()
    assert set(config) == set(config_space)
    assert not any(hasattr(v, "sample") for v in config.values())
    assert 1e-4 <= config["lr"] <= 1e-1
    searcher.on_trial_complete(0, config, 0.5)
    assert len(searcher.history) == 1
    assert searcher.suggest() != config


def test_three_workers_claiming_one_proposal_end_on_three_architectures(predictor):
    # with an empty history every worker proposes the same zero-shot best. Three threads run the
    # real claim; their first re-read is held until all three wrote their claim and released
    # only when all three have read (the interleaving where the former two-worker rule sent the
    # 2nd and 3rd claimant to the same candidate)
    import threading

    space = get_space("nb201")
    sampler = MetaNASSampler(space, predictor, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    ranked = MetaNASProposer(space, predictor, seed=0).propose(n=8)
    trials = [study.ask() for _ in range(3)]
    frozen = [study._storage.get_trial(t._trial_id) for t in trials]
    shared = sampler.session.store
    real, barrier, first = shared.other_claims, threading.Barrier(3), threading.local()

    def held_first_read(*args, **kwargs):
        if getattr(first, "done", False):
            return real(*args, **kwargs)
        first.done = True
        barrier.wait()  # every claim of ranked[0] is written
        out = real(*args, **kwargs)
        barrier.wait()  # every claimant has read them
        return out

    shared.other_claims = held_first_read
    got = [None] * 3

    def claim(i):
        def write(claim: str) -> None:
            study._storage.set_trial_system_attr(
                frozen[i]._trial_id, "nas_meta_tune:proposal", claim
            )

        records = lambda: sampler._records(study)  # noqa: E731
        got[i] = shared.claim(frozen[i].number, ranked, write, records).key

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert None not in got and len(set(got)) == 3 and set(got) <= {a.key for a in ranked}


def test_meta_nas_variants_pass_their_options_to_the_proposer(predictor):
    from nas_meta_tune.integrations.experiments.runs import make_sampler

    space = get_space("nb201")
    s = make_sampler("meta_nas:acquisition=ei,beta=2.5,warm_steps=None", space, 0, predictor)
    p = s.proposer
    assert (p.acquisition, p.beta, p.warm_steps) == ("ei", 2.5, None)
    assert make_sampler("meta_nas:refresh_every=3", space, 0, predictor).proposer.refresh_every == 3
    assert (
        make_sampler("meta_nas:use_pruned=False", space, 0, predictor).session.store.use_pruned
        is False
    )
    with pytest.raises(ValueError, match="key=value"):
        make_sampler("meta_nas:acquisition", space, 0, predictor)
    with pytest.raises(ValueError, match="distinct keys"):
        make_sampler("meta_nas:beta=1,beta=2", space, 0, predictor)
    with pytest.raises(ValueError, match="acquisition"):
        make_sampler("meta_nas:acquisition=best", space, 0, predictor)


def test_an_exhausted_space_stops_the_study_instead_of_repeating(predictor, data_root):
    bench = load_benchmark("transnas_micro", data_root=data_root)
    space = bench.space
    archs = space.enumerate(unique=True)
    table = dict(zip((a.key for a in bench.table("jigsaw")[0]), bench.table("jigsaw")[1]))
    study = optuna.create_study(
        direction="maximize", sampler=MetaNASSampler(space, predictor, seed=0)
    )
    dist = {
        p.name: optuna.distributions.CategoricalDistribution(list(p.choices)) for p in space.params
    }
    for a in archs[:-1]:  # everything but one architecture already evaluated
        study.add_trial(
            optuna.trial.create_trial(params=a.to_params(), distributions=dist, value=table[a.key])
        )
    with pytest.warns(UserWarning, match="stopping the study") as record:
        study.optimize(_objective(space, table), n_trials=10)
    new = study.trials[len(archs) - 1 :]
    assert len(new) == 2  # the last architecture, then the trial during which the study stopped
    assert _keys(study, space)[len(archs) - 1] == archs[-1].key
    assert sum("every architecture" in str(w.message) for w in record) == 1


def test_an_objective_of_another_space_is_warned_about_once(predictor, nb201):
    space, table = nb201
    other = get_space("nasbench_graph")  # other parameter names (same names would clash in Optuna)
    sampler = MetaNASSampler(space, predictor, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    with pytest.warns(UserWarning, match="none of the parameters of its space 'nb201'") as record:
        study.optimize(lambda t: float(len(other.suggest(t).key)), n_trials=4)
    assert sum("none of the parameters" in str(w.message) for w in record) == 1


class _DeadPredictor(MetaPredictor):
    """A real predictor whose scoring and adaptation always raise (a broken install, say)."""

    def predict(self, *args, **kwargs):
        raise RuntimeError("simulated broken predictor")

    def adapt(self, *args, **kwargs):
        raise RuntimeError("simulated broken predictor")


def test_a_predictor_failing_every_time_stops_the_study_with_a_named_error(predictor, nb201):
    from nas_meta_tune.exceptions import PredictorFailedError

    space, table = nb201
    dead = object.__new__(_DeadPredictor)
    dead.__dict__.update(predictor.__dict__)
    study = optuna.create_study(direction="maximize", sampler=MetaNASSampler(space, dead, seed=0))
    with pytest.raises(PredictorFailedError, match="failed on 3 proposals in a row"):
        study.optimize(_objective(space, table), n_trials=10)
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) == 2
