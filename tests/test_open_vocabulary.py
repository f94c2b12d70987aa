"""The open operation vocabulary (issue 22, item 2): descriptors parsed from operation names, the
``unknown`` token, hiding tokens in meta-training, and loading weights from before it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ConfigSpace import ConfigurationSpace

from nas_meta_tune.predictors import MetaPredictor
from nas_meta_tune.predictors.gcn import LEGACY_IN_DIM, GCNPredictor, hide_tokens
from nas_meta_tune.predictors.meta import MetaConfig, meta_train
from nas_meta_tune.predictors.tasks import NASTask
from nas_meta_tune.spaces import from_configspace, get_space
from nas_meta_tune.spaces.ops import (
    DESCRIPTORS,
    NODE_FEATURES,
    OP_INDEX,
    VOCABULARY,
    describe_op,
    node_features,
)


def _desc(name: str) -> dict[str, float]:
    return {k: round(float(v), 2) for k, v in zip(DESCRIPTORS, describe_op(name)) if v}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "mbconv_k5_e6",
            {"conv": 1, "depthwise": 1, "inverted_residual": 1, "kernel": 1.0, "expansion": 1.29},
        ),
        ("sep_conv_3x3", {"conv": 1, "depthwise": 1, "kernel": 0.5}),
        ("dil_conv_5x5", {"conv": 1, "depthwise": 1, "dilated": 1, "kernel": 1.0, "dilation": 1.0}),
        ("nor_conv_1x1", {"conv": 1}),  # 1x1: kernel feature (k - 1) / 4 = 0
        ("conv_7x7", {"conv": 1, "kernel": 1.5}),
        ("dw5x5", {"conv": 1, "depthwise": 1, "kernel": 1.0}),
        ("Max-Pool-5x5", {"max_pool": 1, "kernel": 1.0}),
        ("skip_connect", {"identity": 1}),
        ("zero", {"zero": 1}),
        ("gatconv", {"message_passing": 1, "attention": 1, "groups": 0.5}),
        ("sage", {"message_passing": 1}),
        ("attention_h4", {"attention": 1, "groups": 1.0}),
        ("dense", {"linear": 1}),
        ("relu6", {}),
    ],
)
def test_descriptor_grammar(name: str, expected: dict[str, float]) -> None:
    assert _desc(name) == expected


def test_node_features_are_token_one_hot_then_descriptors() -> None:
    row = node_features("sep_conv_5x5", "mbconv_k5_e6")
    assert row.shape == (NODE_FEATURES,) and row.dtype == np.float32
    assert row[: len(VOCABULARY)].sum() == 1 and row[OP_INDEX["sep_conv_5x5"]] == 1
    np.testing.assert_array_equal(row[len(VOCABULARY) :], describe_op("mbconv_k5_e6"))
    # same token, different operation: different inputs
    assert not np.array_equal(row, node_features("sep_conv_5x5"))
    with pytest.raises(ValueError):
        row[0] = 2.0  # cached rows are read-only


def test_declared_space_graph_carries_names_into_the_features() -> None:
    space = from_configspace(
        ConfigurationSpace({"b0": ["mbconv_k3_e3", "mbconv_k3_e6"], "b1": ["skip", "conv3x3"]}),
        name="t_openvocab_names",
    )
    a = space.from_params({"b0": "mbconv_k3_e3", "b1": "skip"})
    b = space.from_params({"b0": "mbconv_k3_e6", "b1": "skip"})
    ga, gb = a.to_graph(), b.to_graph()
    assert ga.ops == gb.ops  # both read as sep_conv_3x3 by token ...
    assert not np.array_equal(ga.features, gb.features)  # ... but differ in expansion
    assert ga.names[1] == "mbconv_k3_e3"
    # built-in spaces: descriptors from the tokens
    nb = get_space("nb201").sample(1, seed=0)[0].to_graph()
    np.testing.assert_array_equal(nb.features[:, : len(VOCABULARY)], nb.one_hot())


def test_hide_tokens_moves_only_operation_tokens_to_unknown() -> None:
    archs = get_space("nb201").sample(8, seed=1)
    x, adj, mask = GCNPredictor.inputs(archs)
    gen = torch.Generator().manual_seed(0)
    hidden = hide_tokens(x, 0.5, generator=gen)
    v = len(VOCABULARY)
    # descriptors untouched; every real node keeps exactly one token; roles never hidden
    torch.testing.assert_close(hidden[..., v:], x[..., v:])
    assert torch.all(hidden[..., :v].sum(-1) == x[..., :v].sum(-1))
    for role in ("input", "output"):
        torch.testing.assert_close(hidden[..., OP_INDEX[role]], x[..., OP_INDEX[role]])
    n_hidden = int(hidden[..., OP_INDEX["unknown"]].sum())
    n_ops = int(mask.sum()) - 2 * len(archs)
    assert 0 < n_hidden < n_ops
    assert hide_tokens(x, 0.0) is x


def _mechanics_task(name: str, space: str, n: int = 60) -> NASTask:
    """Synthetic scores (a unit test of mechanics, not a benchmark)."""
    archs = get_space(space).sample(n, seed=3)
    scores = np.random.default_rng(0).normal(size=n)
    return NASTask(name, archs, scores)


def test_meta_training_reads_tokens_it_never_saw_as_unknown() -> None:
    cfg = MetaConfig(
        steps=3, meta_batch=1, k_range=(5, 5), query=10, inner_steps=1, hide_tokens=0.3
    )
    result = meta_train([_mechanics_task("synthetic/nb201", "nb201")], config=cfg, seed=0)
    w = result.model.embed.weight.detach()
    unknown = w[:, OP_INDEX["unknown"]]
    assert torch.count_nonzero(unknown) > 0  # trained through hiding
    for token in ("sep_conv_3x3", "gat", "max_pool_3x3"):  # not in NB201
        torch.testing.assert_close(w[:, OP_INDEX[token]], unknown)
    for token in ("conv3x3", "avg_pool_3x3", "skip"):  # NB201's own stay their own
        assert not torch.equal(w[:, OP_INDEX[token]], unknown)
    with pytest.raises(ValueError, match="hide_tokens"):
        MetaConfig(hide_tokens=1.0)


def test_weights_from_before_the_open_vocabulary_load_and_predict_as_before(tmp_path) -> None:
    cfg = MetaConfig(steps=2, meta_batch=1, k_range=(5, 5), query=10, inner_steps=1)
    task = _mechanics_task("synthetic/nb201", "nb201")
    new = MetaPredictor.from_result(meta_train([task], config=cfg, seed=0))
    # write the same weights as a file of the old format: 20 input columns, gcn.in_dim = 20
    payload = new._payload()
    header = json.loads(payload["header"])
    header["gcn"] = {"in_dim": LEGACY_IN_DIM, **header["gcn"]}
    del header["in_dim"]
    for part in ("state", "init"):
        payload[part]["embed.weight"] = payload[part]["embed.weight"][:, :LEGACY_IN_DIM].clone()
        del payload[part]["feature_mask"]
    from nas_meta_tune.predictors.meta_predictor import _tensor_digest

    payload["header"] = json.dumps(header)
    payload["checksum"] = _tensor_digest(
        {**payload["state"], **{"init." + k: v for k, v in payload["init"].items()}}, header
    )
    path = tmp_path / "legacy.pt"
    torch.save(payload, path)
    with pytest.warns(UserWarning, match="before the open operation vocabulary"):
        old = MetaPredictor.load(path)
    archs = task.archs[:30]
    # the legacy model ignores descriptors: equal to the new one with its descriptor columns off
    ref = GCNPredictor(new.model.config)
    state = new.model.state_dict()
    state["embed.weight"][:, LEGACY_IN_DIM:] = 0.0
    ref.load_state_dict(state)
    ref.eval()
    with torch.no_grad():
        expected = ref(*GCNPredictor.inputs(archs)).numpy()
    np.testing.assert_allclose(old.predict(archs), expected, rtol=1e-5, atol=1e-6)
    # adapting never moves the columns it cannot read
    adapted = old.adapt(task.archs[30:45], task.scores[30:45])
    w = adapted.model.embed.weight.detach()
    assert torch.count_nonzero(w[:, LEGACY_IN_DIM:]) == 0
    # and it round-trips in the new format
    again = MetaPredictor.load(adapted.save(tmp_path / "again.pt"))
    np.testing.assert_allclose(again.predict(archs), adapted.predict(archs), rtol=1e-6)
