"""Seed handling: every component owns its generator, nothing touches global state."""

from __future__ import annotations

import numpy as np

__all__ = ["as_generator", "child_seed"]


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a ``numpy`` generator for ``seed`` (an int, ``None`` or a generator, used as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, a numpy Generator or None, but got {seed!r}.")
    return np.random.default_rng(seed)


def child_seed(rng: np.random.Generator) -> int:
    """Draw a fresh 31-bit seed from ``rng`` (for torch, sub-components, worker processes)."""
    return int(rng.integers(0, 2**31 - 1))
