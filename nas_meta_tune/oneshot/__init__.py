"""Network builders and training: real NAS-Bench-Graph GNNs trained on Planetoid graphs, the
NAS-Bench-201 network of a cell (:func:`build_nb201`) and weight-sharing supernets of both spaces
(:func:`build_supernet`, :func:`build_nb201_supernet`).

>>> from nas_meta_tune.oneshot import train_gnn
>>> run = train_gnn("0,0,1,2|gcn,gat,skip,fc", "cora", epochs=5)  # doctest: +SKIP
>>> len(run["valid_acc"])  # doctest: +SKIP
5
"""

from __future__ import annotations

from ..networks.gnn import (
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
from ..networks.images import IMAGE_DATASETS, load_digits, load_image_dataset
from ..networks.nb201 import NB201_OPS, NB201Cell, NB201Net, build_nb201
from .fewshot import (
    SplitNode,
    SplitTree,
    gradient_matching_distance,
    partition_ops,
    proxy_distance,
    split_distance,
)
from .nb201_supernet import (
    NB201DARTSTrainer,
    NB201SPOSTrainer,
    NB201Supernet,
    build_nb201_supernet,
    export_path,
)
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
    "NB201Supernet",
    "NB201SPOSTrainer",
    "NB201DARTSTrainer",
    "build_nb201_supernet",
    "export_path",
    "IMAGE_DATASETS",
    "load_digits",
    "load_image_dataset",
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
