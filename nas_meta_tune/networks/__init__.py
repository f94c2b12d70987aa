"""Stand-alone networks and their data, built from architectures: the NAS-Bench-201 network
(``nb201``), the NAS-Bench-Graph network (``graph_net``), its training protocol
(``graph_training``), the offline Planetoid loader (``planetoid``) and small image sets
(``images``: scikit-learn digits).

The zero-cost proxies (:mod:`nas_meta_tune.proxies`) and the one-shot supernets
(:mod:`nas_meta_tune.oneshot`) both build on these, which is why they live apart from both.
"""

from .graph_net import NASBenchGraphNet, build_gnn, canonical_cell
from .graph_training import PROTOCOLS, GNNProtocol, train_gnn
from .images import IMAGE_DATASETS, load_digits, load_image_dataset
from .nb201 import NB201_OPS, NB201Cell, NB201Net, build_nb201
from .planetoid import CACHE_ENV_VAR, PLANETOID_NAMES, load_planetoid

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
