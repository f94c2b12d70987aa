"""The NAS-Bench-Graph network, the Planetoid loader and the benchmark's training protocol, moved to
:mod:`~nas_meta_tune.networks.graph_net`, :mod:`~nas_meta_tune.networks.planetoid` and
:mod:`~nas_meta_tune.networks.graph_training` (this path is kept for existing imports)."""

from .graph_net import NASBenchGraphNet, build_gnn, canonical_cell
from .graph_training import PROTOCOLS, GNNProtocol, train_gnn
from .planetoid import CACHE_ENV_VAR, PLANETOID_NAMES, load_planetoid

__all__ = [
    "CACHE_ENV_VAR",
    "GNNProtocol",
    "NASBenchGraphNet",
    "PLANETOID_NAMES",
    "PROTOCOLS",
    "build_gnn",
    "canonical_cell",
    "load_planetoid",
    "train_gnn",
]
