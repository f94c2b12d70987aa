"""Moved to :mod:`nas_meta_tune.oneshot.run` (framework-free); kept for the adapters' imports."""

from __future__ import annotations

from ..oneshot.run import RUN_HYPERPARAMETERS, SPACES, STRATEGIES, SupernetRun

__all__ = ["RUN_HYPERPARAMETERS", "SPACES", "STRATEGIES", "SupernetRun"]
