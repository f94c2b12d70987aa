"""Moved to :mod:`nas_meta_tune.networks` (this path is kept for existing imports)."""

from ..networks.gnn import *  # noqa: F403
from ..networks.gnn import __all__  # noqa: F401
