"""Acquisition functions on a posterior's mean and standard deviation (arrays, higher = better).

``log_ei`` is the logarithm of expected improvement computed without underflow far below the
incumbent, after Ament et al., "Unexpected Improvements to Expected Improvement for Bayesian
Optimization" (NeurIPS 2023, https://arxiv.org/abs/2310.20708): ranking candidates by plain EI
fails once EI rounds to 0 for all of them, the log form keeps ordering them.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfcx, log_ndtr

__all__ = ["log_ei", "ucb"]

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
_SQRT_HALF_PI = np.sqrt(np.pi / 2)


def _log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z * Phi(z))`` for any real ``z``."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    hi = z > -1.0
    zh = z[hi]
    out[hi] = np.log(np.exp(-0.5 * zh * zh - _LOG_SQRT_2PI) + zh * np.exp(log_ndtr(zh)))
    zl = np.maximum(z[~hi], -1e6)
    # phi(z) * (1 + z * Phi(z) / phi(z)), Phi/phi = sqrt(pi/2) * erfcx(-z / sqrt 2)
    ratio = _SQRT_HALF_PI * erfcx(-zl / np.sqrt(2.0))
    out[~hi] = -0.5 * zl * zl - _LOG_SQRT_2PI + np.log1p(np.maximum(zl * ratio, -1 + 1e-300))
    return out


def log_ei(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """``log E[max(f - best, 0)]`` for ``f ~ N(mean, std^2)``."""
    std = np.maximum(np.asarray(std, dtype=np.float64), 1e-12)
    z = (np.asarray(mean, dtype=np.float64) - best) / std
    return _log_h(z) + np.log(std)


def ucb(mean: np.ndarray, std: np.ndarray, beta: float) -> np.ndarray:
    """Upper confidence bound ``mean + beta * std``."""
    return np.asarray(mean, dtype=np.float64) + beta * np.asarray(std, dtype=np.float64)
