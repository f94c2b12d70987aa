"""Network builders and training: real NAS-Bench-Graph GNNs trained on Planetoid graphs, and the
NAS-Bench-201 network of a cell (:func:`build_nb201`).

>>> from nas_meta_tune.oneshot import train_gnn
>>> run = train_gnn("0,0,1,2|gcn,gat,skip,fc", "cora", epochs=5)  # doctest: +SKIP
>>> len(run["valid_acc"])  # doctest: +SKIP
5
"""

from __future__ import annotations

from .fewshot import (
    SplitNode,
    SplitTree,
    gradient_matching_distance,
    partition_ops,
    proxy_distance,
    split_distance,
)
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
from .nb201 import NB201_OPS, NB201Cell, NB201Net, build_nb201
from .supernet import DARTSTrainer, GNNSupernet, SPOSTrainer, build_supernet

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
    "NB201_OPS",
    "NB201Cell",
    "NB201Net",
    "build_nb201",
    "GNNSupernet",
    "SPOSTrainer",
    "DARTSTrainer",
    "build_supernet",
    "SplitNode",
    "SplitTree",
    "gradient_matching_distance",
    "partition_ops",
    "proxy_distance",
    "split_distance",
]
