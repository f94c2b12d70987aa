"""Moved to :mod:`nas_meta_tune.networks.nb201` (this path is kept for existing imports)."""

from ..networks.nb201 import *  # noqa: F403
from ..networks.nb201 import __all__  # noqa: F401
