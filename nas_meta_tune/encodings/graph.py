"""Unified graph form of architectures, single and batched.

Every architecture's :meth:`~nas_meta_tune.spaces.Architecture.to_graph` is a node-op DAG over
:data:`~nas_meta_tune.spaces.ops.VOCABULARY`; its node features are the token one-hot followed by
the operation's descriptors (:func:`~nas_meta_tune.spaces.ops.node_features`). :func:`batch_graphs` stacks many of them into one
disjoint-union graph with NumPy only (graphs are cached per architecture, so this is a
concatenation), and :func:`to_pyg_batch` wraps the result for torch-geometric layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..spaces._base import Architecture
from ..spaces.ops import NODE_FEATURES, VOCABULARY

if TYPE_CHECKING:
    import torch
    import torch_geometric.data

__all__ = ["GraphBatch", "batch_graphs", "dense_batch", "to_pyg", "to_pyg_batch"]


@dataclass(frozen=True)
class GraphBatch:
    """Disjoint union of architecture graphs (PyG layout, NumPy arrays).

    Attributes:
        op_index: ``int64[N]`` vocabulary index of every node.
        x: ``float32[N, NODE_FEATURES]`` node features (token one-hot, then descriptors).
        edge_index: ``int64[2, E]`` edges, node ids offset per graph.
        batch: ``int64[N]`` graph id of every node.
        ptr: ``int64[G + 1]`` first node of each graph (and the total).
    """

    op_index: np.ndarray
    edge_index: np.ndarray
    batch: np.ndarray
    ptr: np.ndarray
    x: np.ndarray

    @property
    def num_graphs(self) -> int:
        """Number of graphs in the batch."""
        return len(self.ptr) - 1

    def one_hot(self) -> np.ndarray:
        """``float32[N, len(VOCABULARY)]`` one-hot tokens."""
        x = np.zeros((len(self.op_index), len(VOCABULARY)), dtype=np.float32)
        x[np.arange(len(self.op_index)), self.op_index] = 1.0
        return x


def batch_graphs(archs: Sequence[Architecture]) -> GraphBatch:
    """Stack the unified graphs of ``archs`` (any mix of spaces) into one :class:`GraphBatch`."""
    graphs = [a.space.to_graph(a) for a in archs]
    sizes = np.fromiter((g.num_nodes for g in graphs), dtype=np.int64, count=len(graphs))
    ptr = np.zeros(len(graphs) + 1, dtype=np.int64)
    np.cumsum(sizes, out=ptr[1:])
    if not graphs:
        empty = np.zeros(0, dtype=np.int64)
        x = np.zeros((0, NODE_FEATURES), dtype=np.float32)
        return GraphBatch(empty, np.zeros((2, 0), dtype=np.int64), empty, ptr, x)
    op_index = np.concatenate([g.op_indices for g in graphs])
    x = np.concatenate([g.features for g in graphs])
    n_edges = np.fromiter(
        (g.edge_index.shape[1] for g in graphs), dtype=np.int64, count=len(graphs)
    )
    edge_index = np.concatenate([g.edge_index for g in graphs], axis=1)
    edge_index = edge_index + np.repeat(ptr[:-1], n_edges)[None, :]
    batch = np.repeat(np.arange(len(graphs), dtype=np.int64), sizes)
    return GraphBatch(op_index, edge_index, batch, ptr, x)


def dense_batch(archs: Sequence[Architecture]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The graphs of ``archs`` padded to a common node count (the layout of PyG's dense layers).

    Returns:
        ``x float32[B, n, NODE_FEATURES]`` node features (zeros at padding),
        ``adj float32[B, n, n]``
        with ``adj[b, dst, src] = 1`` for every edge ``src -> dst`` (so ``adj @ h`` sends
        messages along the edges), and ``mask bool[B, n]`` of real nodes.
    """
    gb = batch_graphs(archs)
    sizes = np.diff(gb.ptr)
    n = int(sizes.max()) if len(sizes) else 1
    b = len(sizes)
    local = np.arange(len(gb.op_index)) - gb.ptr[gb.batch]
    x = np.zeros((b, n, NODE_FEATURES), dtype=np.float32)
    x[gb.batch, local] = gb.x
    mask = np.zeros((b, n), dtype=bool)
    mask[gb.batch, local] = True
    adj = np.zeros((b, n, n), dtype=np.float32)
    src, dst = gb.edge_index
    adj[gb.batch[src], local[dst], local[src]] = 1.0
    return x, adj, mask


def _tensors(gb: GraphBatch, device: torch.device | str | None) -> dict[str, torch.Tensor]:
    import torch

    out = {
        "x": torch.from_numpy(gb.x),
        "op_index": torch.from_numpy(gb.op_index),
        "edge_index": torch.from_numpy(gb.edge_index),
        "batch": torch.from_numpy(gb.batch),
        "ptr": torch.from_numpy(gb.ptr),
    }
    if device is not None:
        out = {k: v.to(device) for k, v in out.items()}
    return out


def to_pyg(arch: Architecture) -> torch_geometric.data.Data:
    """One architecture as ``Data(x=[n, NODE_FEATURES], edge_index=[2, e], op_index=[n])``."""
    from torch_geometric.data import Data

    t = _tensors(batch_graphs([arch]), None)
    return Data(x=t["x"], edge_index=t["edge_index"], op_index=t["op_index"])


def to_pyg_batch(
    archs: Sequence[Architecture], device: torch.device | str | None = None
) -> torch_geometric.data.Batch:
    """Many architectures as one ``torch_geometric.data.Batch`` (``x``, ``edge_index``,
    ``batch``, ``ptr``, ``op_index``), built without per-graph ``Data`` objects.

    Equivalent to ``Batch.from_data_list([a.to_pyg() for a in archs])`` but an order of
    magnitude faster (see ``benchmarks/encodings.py``).
    """
    from torch_geometric.data import Batch

    t = _tensors(batch_graphs(archs), device)
    b = Batch(
        x=t["x"], edge_index=t["edge_index"], op_index=t["op_index"], batch=t["batch"], ptr=t["ptr"]
    )
    b._num_graphs = len(archs)
    return b
