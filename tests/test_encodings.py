"""Unified graph batching and vector encodings."""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Batch

from nas_meta_tune import get_space
from nas_meta_tune.encodings import adjacency_onehot, batch_graphs, encode, to_pyg_batch
from nas_meta_tune.spaces.ops import NODE_FEATURES


def _mixed():
    archs = []
    for name in ("nb201", "nasbench_graph", "nb101", "darts", "transnas_micro"):
        archs += get_space(name).sample(7, seed=0)
    return archs


def test_fast_batch_equals_pyg_from_data_list():
    archs = _mixed()
    fast = to_pyg_batch(archs)
    ref = Batch.from_data_list([a.to_pyg() for a in archs])
    assert fast.num_graphs == ref.num_graphs == len(archs)
    assert torch.equal(fast.x, ref.x)
    assert torch.equal(fast.edge_index, ref.edge_index)
    assert torch.equal(fast.batch, ref.batch)
    assert torch.equal(fast.ptr, ref.ptr)


def test_batch_works_with_pyg_layers():
    from torch_geometric.nn import GCNConv, global_mean_pool

    b = to_pyg_batch(_mixed())
    h = GCNConv(NODE_FEATURES, 8)(b.x, b.edge_index)
    out = global_mean_pool(h, b.batch)
    assert out.shape == (b.num_graphs, 8)


def test_empty_batch():
    gb = batch_graphs([])
    assert gb.num_graphs == 0 and gb.edge_index.shape == (2, 0)


def test_adjacency_onehot_layout_nb201():
    arch = get_space("nb201").from_string(
        "|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|"
    )
    v = adjacency_onehot(arch)
    n = 8
    tokens = arch.space.local_ops
    assert v.shape == (n * (n - 1) // 2 + n * len(tokens),)
    onehot = v[n * (n - 1) // 2 :].reshape(n, len(tokens))
    assert [tokens[i] for i in onehot.argmax(1)] == list(arch.to_graph().ops)
    assert onehot.sum() == n


def test_encode_rejects_mixed_spaces():
    import pytest

    with pytest.raises(ValueError, match="share one space"):
        encode(_mixed())
    with pytest.raises(ValueError, match="kind"):
        encode(get_space("nb201").sample(2, seed=0), kind="nope")


def test_path_encoding_darts_has_one_block_per_cell():
    space = get_space("darts")
    arch = space.sample(1, seed=4)[0]
    enc = encode([arch], "path")[0]
    assert enc.shape[0] % 2 == 0
    half = enc.shape[0] // 2
    assert enc[:half].sum() > 0 or enc[half:].sum() > 0
    assert np.all(enc >= 0)
