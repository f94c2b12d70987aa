"""Declaring your own search space: from a ConfigSpace or Optuna distributions, free operation
names, conditions and forbidden clauses, pickling without registration, and the three frameworks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from ConfigSpace import (
    Categorical,
    ConfigurationSpace,
    EqualsCondition,
    ForbiddenAndConjunction,
    ForbiddenEqualsClause,
    Integer,
)

from nas_meta_tune.exceptions import InvalidArchitectureError
from nas_meta_tune.integrations.ray import ray_param_space
from nas_meta_tune.integrations.syne import syne_config_space
from nas_meta_tune.spaces import DeclaredSpace, from_configspace, from_distributions, get_space
from nas_meta_tune.spaces.ops import resolve_op

OPS = ["mbconv_k3_e3", "mbconv_k5_e6", "skip"]


def mobilenet_graph(params):
    """Module level, so the space pickles: a chain of ``depth`` blocks."""
    blocks = [params[f"block{i}"] for i in range(params["depth"])]
    ops = ["input", *blocks, "output"]
    return ops, [(i, i + 1) for i in range(len(ops) - 1)]


def _conditional_space() -> DeclaredSpace:
    cs = ConfigurationSpace(seed=0)
    depth = Integer("depth", (2, 3))
    blocks = [Categorical(f"block{i}", OPS) for i in range(3)]
    cs.add([depth, *blocks])
    cs.add(EqualsCondition(blocks[2], depth, 3))
    cs.add(
        ForbiddenAndConjunction(
            ForbiddenEqualsClause(blocks[0], "skip"), ForbiddenEqualsClause(blocks[1], "skip")
        )
    )
    return from_configspace(cs, name="test_mobilenet_cond", graph=mobilenet_graph)


def test_a_space_in_a_few_lines_is_a_full_search_space():
    cs = ConfigurationSpace({f"block{i}": OPS for i in range(4)})
    space = from_configspace(cs, name="test_mobilenet_chain")
    archs = space.enumerate()
    assert len(archs) == 81 and len({a.key for a in archs}) == 81
    a = space.sample(1, seed=0)[0]
    assert space.from_string(a.to_string()) == a and space.from_params(a.to_params()) == a
    assert a.to_graph().ops[1:-1] == tuple(resolve_op(v) for v in a.to_params().values())
    assert len(space.neighbors(a)) == 8 and space.mutate(a, seed=1).key != a.key
    assert space.configspace is cs
    assert get_space(cs).name == get_space(cs).name  # a ConfigurationSpace works as a space


def test_conditions_and_forbidden_clauses_are_honoured():
    space = _conditional_space()
    archs = space.enumerate()
    # depth 2: 3*3 - 1 forbidden (skip, skip); depth 3: 3*3*3 - 3
    assert len(archs) == 8 + 24
    for a in archs:
        p = a.to_params()
        assert ("block2" in p) == (p["depth"] == 3)
        assert not (p["block0"] == "skip" and p["block1"] == "skip")
    with pytest.raises(InvalidArchitectureError, match="forbidden"):
        space.from_params({"depth": 2, "block0": "skip", "block1": "skip"})
    assert all(a.to_graph().num_nodes == a.to_params()["depth"] + 2 for a in archs)


def test_unknown_operations_warn_with_the_fix_and_read_as_unknown():
    with pytest.warns(UserWarning, match=r"parameter 'b' = 'relu6'.*'unknown'.*ops=\{'relu6'"):
        space = from_configspace(
            ConfigurationSpace({"a": OPS, "b": ["relu6", "skip"]}), name="t_bad_op"
        )
    arch = space.from_params({"a": OPS[0], "b": "relu6"})
    assert arch.to_graph().ops[2] == "unknown"
    assert space.unified_ops["relu6"] == "unknown"


def test_bad_parameters_and_mappings_fail_at_construction_with_the_fix():
    ok = from_configspace(
        ConfigurationSpace({"a": OPS, "b": ["relu6", "skip"]}),
        name="t_ok_op",
        ops={"relu6": "skip"},
    )
    assert ok.to_graph(ok.sample(1, seed=0)[0]).ops[0] == "input"
    with pytest.raises(InvalidArchitectureError, match="'lr'"):
        from_configspace(ConfigurationSpace({"lr": (1e-4, 1e-1)}), name="t_float")
    with pytest.raises(InvalidArchitectureError, match="not a unified token"):
        from_configspace(ConfigurationSpace({"a": OPS}), name="t_badmap", ops={"x": "conv7x7"})


def test_pickles_without_registration():
    space = _conditional_space()
    a = space.sample(3, seed=2)
    clone = pickle.loads(pickle.dumps(a))
    assert clone == a and clone[0].space.enumerate() == space.enumerate()
    with pytest.raises(Exception):  # noqa: B017 - it was never registered by name
        get_space("test_mobilenet_cond")


def test_from_optuna_distributions():
    optuna = pytest.importorskip("optuna")
    dists = {
        "op1": optuna.distributions.CategoricalDistribution(OPS),
        "op2": optuna.distributions.CategoricalDistribution(["conv3x3", "conv1x1"]),
    }
    space = from_distributions(dists, name="t_optuna")
    assert len(space.enumerate()) == 6
    with pytest.raises(InvalidArchitectureError, match="'lr'"):
        from_distributions({"lr": optuna.distributions.FloatDistribution(1e-3, 1.0)})


def test_searched_by_the_meta_sampler_in_optuna_ray_and_syne(tmp_path):
    optuna = pytest.importorskip("optuna")
    from nas_meta_tune.predictors import MetaPredictor
    from nas_meta_tune.samplers import MetaNASSampler

    space = _conditional_space()
    score = {
        a.key: float(np.random.default_rng(i).normal()) for i, a in enumerate(space.enumerate())
    }
    sampler = MetaNASSampler(space, MetaPredictor.pretrained(), seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: score[space.suggest(t).key], n_trials=12)
    keys = [space.from_params(t.params).key for t in study.trials]
    assert len(set(keys)) == 12 and sampler.proposer.last_info["mode"] == "gp"
    assert pickle.loads(pickle.dumps(sampler)).space.name == space.name
    ray_space = ray_param_space(space)
    assert set(ray_space) == set(space.param_names)
    syne_space = syne_config_space(space)
    assert set(syne_space) == set(space.param_names)


def test_the_samplers_take_a_configspace_directly():
    optuna = pytest.importorskip("optuna")
    from nas_meta_tune.predictors import MetaPredictor
    from nas_meta_tune.samplers import MetaNASSampler

    cs = ConfigurationSpace({f"b{i}": OPS for i in range(3)})
    sampler = MetaNASSampler(cs, MetaPredictor.pretrained(), seed=0)
    assert isinstance(sampler.space, DeclaredSpace)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(
        lambda t: float(sum(v == "skip" for v in sampler.space.suggest(t).to_params().values())),
        n_trials=5,
    )
    assert len({tuple(t.params.values()) for t in study.trials}) == 5
