"""Moved to :mod:`nas_meta_tune.networks.images` (this path is kept for existing imports)."""

from ..networks.images import *  # noqa: F403
