"""Moved to :mod:`nas_meta_tune.networks.gnn` (this path is kept for existing imports)."""

from ..networks.gnn import *  # noqa: F403
from ..networks.gnn import (  # noqa: F401 - private names other modules used
    _RAW_PARTS,
    _accuracy,
    _cell_of,
    _check_sizes,
    _default_cache_dir,
    _GraphFree,
    _log,
    _make_op,
    _planetoid_name,
    _sparse_input_op,
    _sparse_map,
    _to_string,
)
