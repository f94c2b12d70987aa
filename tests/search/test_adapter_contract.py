"""One contract, three adapters: MetaNASSampler (Optuna), MetaNASSearch (Ray Tune) and
MetaNASSyneSearcher (Syne Tune) driven through their framework's own calls, on the real NB201
CIFAR-100 table. Each driver translates "ask", "tell" and "restore"; the guarantees are checked
once for all (no architecture proposed twice, failed trials never proposed again, pruned /
stopped trials scored by one policy, restore continues without repeats, configurations of
another space are refused)."""

from __future__ import annotations

import numpy as np
import pytest

from nas_meta_tune import get_space, load_benchmark
from nas_meta_tune.exceptions import SpaceMismatchError
from nas_meta_tune.predictors import MetaPredictor


@pytest.fixture(scope="module")
def predictor():
    return MetaPredictor.pretrained()


@pytest.fixture(scope="module")
def table(data_root):
    archs, y = load_benchmark("nb201", data_root=data_root).table("cifar100")
    return dict(zip((a.key for a in archs), y))


class OptunaDriver:
    def __init__(self, predictor, tmp_path):
        import optuna

        from nas_meta_tune.samplers import MetaNASSampler

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna, self.space, self.predictor = optuna, get_space("nb201"), predictor
        self.storage = optuna.storages.InMemoryStorage()
        self.study = optuna.create_study(
            storage=self.storage,
            direction="maximize",
            sampler=MetaNASSampler(self.space, predictor, seed=0),
        )

    def ask(self):
        trial = self.study.ask()
        return trial, self.space.suggest(trial)

    def tell(self, handle, value, state="complete"):
        if state == "failed":
            self.study.tell(handle, state=self.optuna.trial.TrialState.FAIL)
        elif state == "pruned":  # a pruner stopped it: its last intermediate value
            handle.report(value, 1)
            self.study.tell(handle, state=self.optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(handle, value)

    def history(self):
        return self.study.sampler.history(self.study)[0]

    def restore(self):
        from nas_meta_tune.samplers import MetaNASSampler

        # a new process: a new sampler over the same storage (history is read from it)
        self.study = self.optuna.load_study(
            study_name=self.study.study_name,
            storage=self.storage,
            sampler=MetaNASSampler(self.space, self.predictor, seed=1),
        )

    def tell_foreign(self):
        other = get_space("nasbench_graph").sample(1, seed=0)[0]
        dists = {
            p.name: self.optuna.distributions.CategoricalDistribution(list(p.choices))
            for p in self.space.params
        }
        params = {p.name: p.choices[0] for p in self.space.params}
        params[self.space.params[0].name] = "gcn"  # a value of another space
        dists[self.space.params[0].name] = self.optuna.distributions.CategoricalDistribution(
            ["gcn", *other.space.params[1].choices]
        )
        self.study.add_trial(
            self.optuna.trial.create_trial(params=params, distributions=dists, value=1.0)
        )
        self.ask()


class RayDriver:
    def __init__(self, predictor, tmp_path):
        pytest.importorskip("ray.tune")
        from nas_meta_tune.samplers import MetaNASSearch

        self.space, self.predictor, self.tmp = get_space("nb201"), predictor, tmp_path
        self.searcher = MetaNASSearch(self.space, predictor, metric="acc", mode="max", seed=0)
        self.n = 0

    def ask(self):
        tid = f"contract-{id(self)}-{self.n}"  # unique: STOPPED_EARLY is one set per process
        self.n += 1
        return tid, self.space.from_params(self.searcher.suggest(tid))

    def tell(self, handle, value, state="complete"):
        from nas_meta_tune.schedulers.ray import STOPPED_EARLY

        if state == "pruned":  # what nas-meta-tune's Ray schedulers record when they stop one
            STOPPED_EARLY.add(handle)
        self.searcher.on_trial_complete(handle, {"acc": value}, error=state == "failed")
        STOPPED_EARLY.discard(handle)

    def history(self):
        return self.searcher.history

    def restore(self):
        from nas_meta_tune.samplers import MetaNASSearch

        path = self.tmp / "ray.json"
        self.searcher.save(str(path))
        self.searcher = MetaNASSearch(self.space, self.predictor, metric="acc", mode="max", seed=1)
        self.searcher.restore(str(path))

    def tell_foreign(self):
        self.searcher.add_evaluated_point({"op1": "gcn", "lk": 3}, 1.0)


class SyneDriver:
    def __init__(self, predictor, tmp_path):
        pytest.importorskip("syne_tune")
        from nas_meta_tune.integrations.syne import syne_config_space
        from nas_meta_tune.samplers import MetaNASSyneSearcher

        self.space, self.predictor, self.tmp = get_space("nb201"), predictor, tmp_path
        self.cs = syne_config_space(self.space)
        self.searcher = MetaNASSyneSearcher(
            self.cs, space=self.space, predictor=predictor, random_seed=0
        )
        self.n = 0

    def ask(self):
        config = self.searcher.suggest()
        handle = (self.n, config)
        self.n += 1
        return handle, self.space.from_params(config)

    def tell(self, handle, value, state="complete"):
        trial_id, config = handle
        if state == "failed":
            self.searcher.on_trial_result(trial_id, config, 0.0)
            self.searcher.on_trial_error(trial_id)
        elif state == "pruned":  # what a stopping scheduler calls (Syne itself calls nothing)
            self.searcher.on_trial_stopped(trial_id, config, -value)
        else:
            self.searcher.on_trial_complete(trial_id, config, -value)  # Syne minimises

    def history(self):
        return self.searcher.history

    def restore(self):
        from nas_meta_tune.samplers import MetaNASSyneSearcher

        path = self.tmp / "syne.json"
        self.searcher.save(str(path))
        self.searcher = MetaNASSyneSearcher(
            self.cs, space=self.space, predictor=self.predictor, random_seed=1
        )
        self.searcher.restore(str(path))

    def tell_foreign(self):
        self.searcher.on_trial_complete(99, {"op1": "gcn", "lk": 3}, 1.0)


DRIVERS = [OptunaDriver, RayDriver, SyneDriver]


@pytest.mark.parametrize("driver", DRIVERS, ids=["optuna", "ray", "syne"])
@pytest.mark.slow
def test_no_architecture_is_proposed_twice_and_failures_are_never_retried(
    driver, predictor, table, tmp_path
):
    d = driver(predictor, tmp_path)
    seen, failed = [], None
    for i in range(14):
        handle, arch = d.ask()
        seen.append(arch.key)
        if i == 3:
            failed = arch.key
            d.tell(handle, None, state="failed")
        else:
            d.tell(handle, float(table[arch.key]))
    assert len(set(seen)) == len(seen)
    # restore (a new process / a Tuner.restore) and go on: still no repeat, the failure stays out
    d.restore()
    for _ in range(6):
        handle, arch = d.ask()
        assert arch.key not in seen and arch.key != failed
        seen.append(arch.key)
        d.tell(handle, float(table[arch.key]))


@pytest.mark.parametrize("driver", DRIVERS, ids=["optuna", "ray", "syne"])
def test_a_pruned_trial_is_learned_with_its_score_capped_at_the_median(
    driver, predictor, table, tmp_path
):
    """One policy for trials stopped early (search/policy.py), reached through each framework's
    own way of stopping a trial."""
    d = driver(predictor, tmp_path)
    values = []
    for _ in range(3):
        handle, arch = d.ask()
        values.append(float(table[arch.key]))
        d.tell(handle, values[-1])
    handle, arch = d.ask()
    d.tell(handle, max(values) + 10.0, state="pruned")  # a partial value above every final one
    scores = {a.key: s for a, s in d.history()}
    assert len(scores) == 4 and scores[arch.key] == pytest.approx(float(np.median(values)))


@pytest.mark.parametrize("driver", DRIVERS, ids=["optuna", "ray", "syne"])
def test_a_configuration_of_another_space_is_refused(driver, predictor, tmp_path):
    d = driver(predictor, tmp_path)
    with pytest.raises(SpaceMismatchError):
        d.tell_foreign()


@pytest.mark.parametrize("driver", DRIVERS, ids=["optuna", "ray", "syne"])
def test_concurrent_trials_get_distinct_proposals(driver, predictor, table, tmp_path):
    """Four trials asked before any is told (parallel workers): four distinct architectures."""
    d = driver(predictor, tmp_path)
    for _ in range(3):
        handle, arch = d.ask()
        d.tell(handle, float(table[arch.key]))
    batch = [d.ask() for _ in range(4)]
    assert len({a.key for _, a in batch}) == 4
    for handle, arch in batch:
        d.tell(handle, float(table[arch.key]))
    assert np.isfinite(list(table.values())).all()
