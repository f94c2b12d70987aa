"""Contract tests every registered search space must pass."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nas_meta_tune import Architecture, InvalidArchitectureError, SpaceMismatchError, get_space
from nas_meta_tune.encodings import adjacency_onehot, path_encoding
from nas_meta_tune.integrations.ray import ray_param_space
from nas_meta_tune.integrations.syne import syne_config_space
from nas_meta_tune.spaces import VOCABULARY, available_spaces
from nas_meta_tune.spaces.ops import NODE_FEATURES

SPACES = available_spaces()
settings.register_profile(
    "nmt", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("nmt")


@pytest.fixture(params=SPACES)
def space(request):
    return get_space(request.param)


@pytest.mark.parametrize("name", SPACES)
@given(seed=st.integers(0, 2**32 - 1))
def test_round_trips(name, seed):
    space = get_space(name)
    arch = space.sample(1, seed=seed)[0]
    assert space.to_arch(space.to_config(arch)) == arch
    assert space.from_string(space.to_string(arch)) == arch
    assert space.from_params(arch.to_params()) == arch
    # frameworks hand back numpy scalars or strings of ints
    noisy = {k: (np.int64(v) if isinstance(v, int) else v) for k, v in arch.to_params().items()}
    assert space.from_params(noisy | {"lr": 0.1}) == arch  # extra keys (joint HPO) are ignored
    assert pickle.loads(pickle.dumps(arch)) == arch
    assert space.validate(arch) is arch


def test_space_pickles_by_name(space):
    assert pickle.loads(pickle.dumps(space)) is space


def test_configspace_samples_map_to_architectures(space):
    cs = space.configspace
    cs.seed(0)
    ok = 0
    for config in cs.sample_configuration(50):
        try:
            arch = space.to_arch(config)
        except InvalidArchitectureError:
            continue  # constraints ConfigSpace cannot express (e.g. NB101's edge limit)
        ok += 1
        assert dict(space.to_config(arch)).keys() <= set(space.param_names)
    assert ok > 0


def test_sample_is_seeded_and_unique(space):
    a = space.sample(20, seed=3)
    assert a == space.sample(20, seed=3)
    u = space.sample(20, seed=3, unique=True)
    assert len({x.key for x in u}) == 20


def test_graph_form(space):
    for arch in space.sample(30, seed=1):
        g = arch.to_graph()
        assert 2 <= g.num_nodes <= space.max_nodes
        assert g.ops[0] == "input" and g.ops[-1] == "output"
        assert set(g.ops) <= set(space.local_ops) <= set(VOCABULARY)
        assert all(s < d for s, d in g.edges)
        data = arch.to_pyg()
        assert data.x.shape == (g.num_nodes, NODE_FEATURES)
        assert data.x[:, : len(VOCABULARY)].sum().item() == g.num_nodes  # one token per node
        assert data.edge_index.shape == (2, len(g.edges))


def test_fixed_length_encodings(space):
    archs = space.sample(25, seed=2)
    lengths = {len(adjacency_onehot(a)) for a in archs}
    assert len(lengths) == 1
    paths = [path_encoding(a) for a in archs]
    assert len({len(p) for p in paths}) == 1
    assert all(p.sum() >= 0 for p in paths)


def test_neighbors_and_mutate(space):
    arch = space.sample(1, seed=5)[0]
    nbrs = space.neighbors(arch)
    assert nbrs, "every sampled architecture has neighbours"
    assert all(n.key != arch.key for n in nbrs)
    assert len(set(nbrs)) == len(nbrs)
    for n in nbrs[:10]:
        assert space.validate(n) is n
    assert space.mutate(arch, seed=0) in nbrs
    assert space.mutate(arch, seed=0) == space.mutate(arch, seed=0)


def test_mismatched_space_is_named(space):
    other = get_space("nb201" if space.name.startswith("nasbench_graph") else "nasbench_graph")
    foreign = other.sample(1, seed=0)[0]
    with pytest.raises(SpaceMismatchError, match=other.name):
        space.to_string(foreign)
    with pytest.raises(InvalidArchitectureError):  # SpaceMismatchError where no name overlaps
        space.from_params(foreign.to_params())


def test_missing_and_bad_values(space):
    params = space.sample(1, seed=0)[0].to_params()
    first = space.param_names[0]
    with pytest.raises(InvalidArchitectureError, match="missing value"):
        space.to_arch({k: v for k, v in params.items() if k != first})
    with pytest.raises(InvalidArchitectureError, match="not allowed"):
        space.to_arch(params | {first: "no_such_op"})
    with pytest.raises(InvalidArchitectureError, match="unknown parameter"):
        space.to_arch(params | {"bogus": 1})


@pytest.mark.parametrize("name", SPACES)
@given(text=st.text(max_size=80))
def test_from_string_fuzz_only_raises_invalid_architecture(name, text):
    space = get_space(name)
    try:
        arch = space.from_string(text)
    except InvalidArchitectureError:
        return
    assert isinstance(arch, Architecture)


@pytest.mark.parametrize("name", SPACES)
@given(
    params=st.dictionaries(
        st.sampled_from(["edge_0_1", "links", "op_1", "num_intermediate", "normal_edge_0_2", "x"]),
        st.one_of(st.integers(-3, 10), st.text(max_size=12), st.none(), st.floats()),
    )
)
def test_from_params_fuzz_only_raises_documented_errors(name, params):
    space = get_space(name)
    try:
        space.from_params(params)
    except InvalidArchitectureError:  # SpaceMismatchError is one
        pass


def test_suggest_with_real_optuna_trials(space):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seen = []

    def objective(trial):
        arch = space.suggest(trial)
        seen.append(arch)
        assert space.from_params(trial.params) == arch  # NB101 prunes dangling vertices
        return float(len(arch.to_graph().edges))

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=12, catch=(InvalidArchitectureError,))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete
    for t in complete:
        assert space.from_params(t.params) in seen


def test_ray_and_syne_views_sample_valid_params(space):
    pytest.importorskip("ray.tune")
    pytest.importorskip("syne_tune")
    ray_space = ray_param_space(space)
    syne_space = syne_config_space(space)
    assert set(ray_space) == set(syne_space) == set(space.param_names)
    rng = np.random.default_rng(0)
    ok = 0
    for _ in range(30):
        cfg = {k: v.sample() for k, v in ray_space.items()}
        scfg = {
            k: v.sample(random_state=np.random.RandomState(int(rng.integers(1 << 30))))
            for k, v in syne_space.items()
        }
        for c in (cfg, scfg):
            try:
                space.from_params(c)
                ok += 1
            except InvalidArchitectureError:
                pass
    assert ok > 0


def test_neighbors_are_one_per_isomorphism_class_and_never_the_cell_itself():
    from nas_meta_tune import get_space

    for name in ("nb201", "transnas_micro", "nasbench_graph"):
        space = get_space(name)
        for arch in space.sample(5, seed=1):
            keys = [a.key for a in space.neighbors(arch)]
            assert len(keys) == len(set(keys)) and arch.key not in keys


def test_nb201_string_with_a_non_ascii_digit_is_an_invalid_architecture():
    import pytest

    from nas_meta_tune import get_space
    from nas_meta_tune.exceptions import InvalidArchitectureError

    with pytest.raises(InvalidArchitectureError):
        get_space("nb201").from_string("|none~\u00b2|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_an_invalid_independent_draw_fails_the_trial_not_the_study(data_root):
    import optuna

    from nas_meta_tune import load_benchmark

    bench = load_benchmark("nasbench_graph")
    objective = bench.objective("cora")
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    # the all-skip cell is no valid architecture: force it once, then let the study go on
    study.enqueue_trial(
        {p.name: "skip" if p.name.startswith("op") else p.choices[0] for p in bench.space.params}
    )
    study.optimize(objective, n_trials=3)
    states = [t.state for t in study.trials]
    assert (
        states[0] == optuna.trial.TrialState.FAIL
        and "invalid_architecture" in study.trials[0].user_attrs
    )
    assert states[1:] == [optuna.trial.TrialState.COMPLETE] * 2


def test_nasbench_graph_configspace_forbids_the_all_skip_cell():
    import pytest
    from ConfigSpace import Configuration

    from nas_meta_tune import get_space

    space = get_space("nasbench_graph")
    cs = space.configspace
    all_skip = {"links": "0000", **{f"op_{i}": "skip" for i in range(1, 5)}}
    with pytest.raises(Exception, match="(?i)forbidden"):
        Configuration(cs, values=all_skip).check_valid_configuration()
    for config in cs.sample_configuration(500):  # every ConfigSpace draw is an architecture
        space.to_arch(config)
