"""Architecture encodings: the unified graph form (for GNNs) and classic vector encodings."""

from __future__ import annotations

from .graph import GraphBatch, batch_graphs, to_pyg, to_pyg_batch
from .vectors import adjacency_onehot, encode, path_encoding

__all__ = [
    "GraphBatch",
    "batch_graphs",
    "to_pyg",
    "to_pyg_batch",
    "adjacency_onehot",
    "path_encoding",
    "encode",
]
