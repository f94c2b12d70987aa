"""nas-meta-tune: efficient neural architecture search for Optuna, Ray Tune and Syne Tune.

The core (spaces, encodings, benchmarks, ...) never imports optuna, ray or syne_tune; the
framework adapters live in :mod:`nas_meta_tune.samplers`, :mod:`nas_meta_tune.schedulers` and
:mod:`nas_meta_tune.integrations` and import their framework lazily.
"""

from __future__ import annotations

from ._logging import get_logger, set_verbosity
from .benchmarks import available_benchmarks, load_benchmark
from .exceptions import (
    DataNotFoundError,
    InvalidArchitectureError,
    NASMetaTuneError,
    SpaceMismatchError,
    UnknownNameError,
)
from .spaces import ArchGraph, Architecture, SearchSpace, available_spaces, get_space

__version__ = "0.1.0.dev0"

__all__ = [
    "__version__",
    "Architecture",
    "ArchGraph",
    "SearchSpace",
    "available_spaces",
    "get_space",
    "available_benchmarks",
    "load_benchmark",
    "NASMetaTuneError",
    "InvalidArchitectureError",
    "SpaceMismatchError",
    "UnknownNameError",
    "DataNotFoundError",
    "get_logger",
    "set_verbosity",
]
