"""Stand-alone networks and their data, built from architectures: the NAS-Bench-201 network, the
NAS-Bench-Graph GNN with the offline Planetoid loader, and small image sets (scikit-learn digits).

The zero-cost proxies (:mod:`nas_meta_tune.proxies`) and the one-shot supernets
(:mod:`nas_meta_tune.oneshot`) both build on these, which is why they live apart from both.
"""

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
from .images import IMAGE_DATASETS, load_digits, load_image_dataset
from .nb201 import NB201_OPS, NB201Cell, NB201Net, build_nb201

__all__ = [
    "CACHE_ENV_VAR",
    "GNNProtocol",
    "IMAGE_DATASETS",
    "NASBenchGraphNet",
    "NB201Cell",
    "NB201Net",
    "NB201_OPS",
    "PLANETOID_NAMES",
    "PROTOCOLS",
    "build_gnn",
    "build_nb201",
    "canonical_cell",
    "load_digits",
    "load_image_dataset",
    "load_planetoid",
    "train_gnn",
]
