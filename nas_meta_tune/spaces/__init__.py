"""NAS search spaces over ConfigSpace.

>>> from nas_meta_tune.spaces import get_space
>>> space = get_space("nb201")
>>> arch = space.sample(1, seed=0)[0]
>>> space.from_string(arch.to_string()) == arch
True
"""

from __future__ import annotations

import importlib
import threading
from typing import cast

from ..exceptions import UnknownNameError
from ._base import ArchGraph, Architecture, Param, SearchSpace
from .custom import DeclaredSpace, from_configspace, from_distributions
from .ops import DESCRIPTORS, VOCABULARY, describe_op, resolve_op, vocabulary_table

__all__ = [
    "Architecture",
    "ArchGraph",
    "DeclaredSpace",
    "DESCRIPTORS",
    "Param",
    "SearchSpace",
    "VOCABULARY",
    "available_spaces",
    "describe_op",
    "from_configspace",
    "from_distributions",
    "get_space",
    "register_space",
    "resolve_op",
    "vocabulary_table",
]

# name -> ("module:Class", constructor kwargs); imported on first use
_REGISTRY: dict[str, tuple[str, dict]] = {
    "nb201": ("nas_meta_tune.spaces.nb201:NB201Space", {}),
    "transnas_micro": ("nas_meta_tune.spaces.transnas:TransNASMicroSpace", {}),
    "nasbench_graph": ("nas_meta_tune.spaces.nasbench_graph:NASBenchGraphSpace", {}),
    "nasbench_graph_proteins": (
        "nas_meta_tune.spaces.nasbench_graph:NASBenchGraphSpace",
        {"op_set": "proteins"},
    ),
    "nb101": ("nas_meta_tune.spaces.nb101:NB101Space", {}),
    "darts": ("nas_meta_tune.spaces.darts:DARTSSpace", {}),
    "nb301": ("nas_meta_tune.spaces.darts:DARTSSpace", {"variant": "nb301"}),
}
_INSTANCES: dict[str, SearchSpace] = {}
_LOCK = threading.Lock()


def available_spaces() -> list[str]:
    """Names accepted by :func:`get_space`."""
    return list(_REGISTRY)


def register_space(name: str, target: str | type[SearchSpace], **kwargs: object) -> None:
    """Register a user-defined space under ``name`` (a class or ``"module:Class"``)."""
    if isinstance(target, type):
        target = f"{target.__module__}:{target.__qualname__}"
    with _LOCK:
        _REGISTRY[name] = (target, dict(kwargs))
        _INSTANCES.pop(name, None)


def get_space(name: str | SearchSpace | object) -> SearchSpace:
    """The search space registered as ``name`` (one shared instance per name).

    Args:
        name: One of :func:`available_spaces`, a space (returned unchanged), or a
            ``ConfigSpace.ConfigurationSpace`` of architecture parameters (declared with
            :func:`from_configspace`, one shared instance per configuration space).

    Raises:
        UnknownNameError: ``name`` is not registered (the message lists the choices).
    """
    if isinstance(name, SearchSpace):
        return name
    if type(name).__name__ == "ConfigurationSpace":
        declared = from_configspace(name)
        with _LOCK:
            return _INSTANCES.setdefault(declared.name, declared)
    with _LOCK:
        space = _INSTANCES.get(cast(str, name))  # anything else is looked up as a name too
        if space is not None:
            return space
        if name not in _REGISTRY:
            raise UnknownNameError("search space", name, available_spaces())
        target, kwargs = _REGISTRY[name]
        module, cls = target.split(":")
        space = getattr(importlib.import_module(module), cls)(**kwargs)
        if space.name != name:
            raise RuntimeError(f"space registered as {name!r} calls itself {space.name!r}")
        _INSTANCES[name] = space
        return space
