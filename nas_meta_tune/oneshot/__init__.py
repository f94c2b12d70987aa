"""Network builders and training: real NAS-Bench-Graph GNNs trained on Planetoid graphs.

>>> from nas_meta_tune.oneshot import train_gnn
>>> run = train_gnn("0,0,1,2|gcn,gat,skip,fc", "cora", epochs=5)  # doctest: +SKIP
>>> len(run["valid_acc"])  # doctest: +SKIP
5
"""

from __future__ import annotations

from .gnn import (
    CACHE_ENV_VAR,
    PLANETOID_NAMES,
    PROTOCOLS,
    GNNProtocol,
    NASBenchGraphNet,
    build_gnn,
    canonical_cell,
    load_planetoid,
    train_gnn,
)

__all__ = [
    "CACHE_ENV_VAR",
    "PLANETOID_NAMES",
    "PROTOCOLS",
    "GNNProtocol",
    "NASBenchGraphNet",
    "build_gnn",
    "canonical_cell",
    "load_planetoid",
    "train_gnn",
]
