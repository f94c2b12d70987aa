"""Moved to :mod:`nas_meta_tune.networks.nb201` (this path is kept for existing imports)."""

from ..networks.nb201 import *  # noqa: F403
from ..networks.nb201 import (  # noqa: F401 - private names other modules used
    _make_op,
    _ops_of,
    _ReLUConvBN,
    _ResidualReduction,
    _Zero,
)
