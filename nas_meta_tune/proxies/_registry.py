"""The string registry of proxies and batched scoring of many architectures of a space."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

from .._device import resolve_device
from .._logging import get_logger
from ..exceptions import UnknownNameError
from ._common import LossFn, ProxyBatch
from .activation import jacob_cov, naswot
from .cost import flops, params
from .saliency import fisher, gradnorm, grasp, snip, synflow
from .tenas import linear_regions, ntk
from .zen import zen

if TYPE_CHECKING:
    from ..spaces._base import Architecture, SearchSpace

__all__ = [
    "PROXIES",
    "DATA_FREE",
    "NEEDS_TARGETS",
    "UnknownProxyError",
    "compute_proxy",
    "score_architectures",
]

_log = get_logger(__name__)

ProxyFn = Callable[..., float]

#: name -> proxy function ``fn(model, batch, *, loss_fn=None, device=None, seed=0) -> float``;
#: for every proxy, higher means "predicted better" (for params and flops: bigger)
PROXIES: Mapping[str, ProxyFn] = MappingProxyType(
    {
        "synflow": synflow,
        "snip": snip,
        "grasp": grasp,
        "gradnorm": gradnorm,
        "fisher": fisher,
        "jacob_cov": jacob_cov,
        "naswot": naswot,
        "ntk": ntk,
        "linear_regions": linear_regions,
        "zen": zen,
        "params": params,
        "flops": flops,
    }
)
#: proxies that use only the shape of the batch's input, never its values or labels
DATA_FREE: frozenset[str] = frozenset({"synflow", "zen", "params", "flops"})
#: proxies that need labels (a loss)
NEEDS_TARGETS: frozenset[str] = frozenset({"snip", "grasp", "gradnorm", "fisher"})


class UnknownProxyError(UnknownNameError, ValueError):
    """An unknown proxy name (a ``ValueError`` and a ``KeyError``; the message lists the valid ones)."""


def _check_name(name: object) -> str:
    if not isinstance(name, str) or name not in PROXIES:
        raise UnknownProxyError("zero-cost proxy", name, tuple(PROXIES))
    return name


def compute_proxy(
    name: str,
    model: nn.Module,
    batch: ProxyBatch | Any,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
    **options: Any,
) -> float:
    """The zero-cost proxy ``name`` of ``model`` on one minibatch.

    The model is left as it was: its parameters, buffers (BatchNorm statistics), gradients and
    train/eval flags are unchanged afterwards (the proxies run on a private copy of its state
    through :func:`torch.func.functional_call`), and torch's global random state is restored.

    Args:
        name: One of :data:`PROXIES`: ``synflow``, ``snip``, ``grasp``, ``gradnorm``,
            ``fisher``, ``jacob_cov``, ``naswot``, ``ntk``, ``linear_regions``, ``zen``,
            ``params``, ``flops``.
        model: The network, called as ``model(*batch.inputs)``.
        batch: ``(inputs, targets)``, a tensor of inputs, a torch_geometric ``Data`` or a
            :class:`ProxyBatch`. Data-free proxies (:data:`DATA_FREE`) use only its input
            shape; :data:`NEEDS_TARGETS` proxies need labels.
        loss_fn: ``loss_fn(outputs, targets)`` for the gradient proxies (default cross-entropy).
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available). The model is not
            moved; its state is copied there.
        seed: Seeds everything random in the computation (dropout, Zen's Gaussian draws).
        **options: Proxy-specific keywords (``zen``: ``mixup_gamma``, ``repeat``).

    Returns:
        The score as a Python float (higher = predicted better). A degenerate network whose
        output does not depend on its input (e.g. NB201 cells with no path from input to output)
        scores ``0.0`` for synflow, snip, grasp and gradnorm, ``-inf`` for naswot, ntk and zen,
        ``1.0`` for linear_regions, a large negative number for jacob_cov and only the
        classifier's term for fisher.

    Raises:
        UnknownProxyError: (a ``ValueError``) ``name`` is not a proxy.
        ValueError: the proxy needs targets and the batch has none.

    Example::

        model = build_nb201("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|")
        compute_proxy("synflow", model, torch.zeros(1, 3, 32, 32))
    """
    fn = PROXIES[_check_name(name)]
    if batch is None and name != "params":
        raise ValueError(f"proxy {name!r} needs a batch (at least an input tensor for its shape).")
    if batch is not None:
        batch = ProxyBatch.of(batch)
        if name in NEEDS_TARGETS and batch.targets is None:
            raise ValueError(
                f"proxy {name!r} needs labels: pass batch=(inputs, targets) with real data."
            )
    return float(fn(model, batch, loss_fn=loss_fn, device=device, seed=seed, **options))


# ------------------------------------------------------------------------------ many archs
#: input shape used for the data-free proxies of image spaces when no batch is given
DEFAULT_IMAGE_INPUT = (16, 3, 32, 32)


def _default_batch(space: SearchSpace, names: Sequence[str]) -> ProxyBatch:
    if space.name.startswith("nasbench_graph"):
        from ..networks.gnn import load_planetoid

        return ProxyBatch.of(load_planetoid("cora")[0])
    data_dependent = [n for n in names if n not in DATA_FREE]
    if data_dependent:
        raise ValueError(
            f"proxies {data_dependent} need a batch of real data for space {space.name!r}; pass "
            "batch=(inputs, targets). (Only the data-free proxies "
            f"{sorted(DATA_FREE)} run without one.)"
        )
    # values unused: data-free proxies only read the shape
    return ProxyBatch((torch.zeros(DEFAULT_IMAGE_INPUT),))


def _default_builder(space: SearchSpace, batch: ProxyBatch) -> Callable[[Any], nn.Module]:
    if space.name == "nb201":
        from ..networks.nb201 import build_nb201

        return build_nb201
    if space.name.startswith("nasbench_graph"):
        from ..networks.gnn import build_gnn

        if batch.targets is None:
            raise ValueError("a graph batch needs labels y to size the GNN's output layer.")
        n_classes = int(batch.targets.max()) + 1
        return partial(build_gnn, in_channels=int(batch.x.shape[1]), out_channels=n_classes)
    raise ValueError(
        f"no default network builder for space {space.name!r}; pass builder=callable(arch) -> "
        "torch.nn.Module."
    )


def _call_form(
    space_or_proxy: SearchSpace | str | Sequence[str],
    proxy: str | Sequence[str] | None,
    space: SearchSpace | str | None,
) -> tuple[str | Sequence[str], SearchSpace | str]:
    """``(proxy, space_or_name)`` from either call form of :func:`score_architectures`."""
    if space is not None:
        if proxy is not None:
            raise TypeError(
                "score_architectures got a proxy twice: call it as (space, archs, proxy) or as "
                "(proxy, archs, space=space)."
            )
        # the second form: space_or_proxy holds the proxy name(s)
        return cast("str | Sequence[str]", space_or_proxy), space
    if proxy is None:
        raise TypeError(
            "score_architectures needs the space and the proxy: (space, archs, proxy) or "
            "(proxy, archs, space=space)."
        )
    # the first form: a space or its name (anything else fails the check in the caller)
    return proxy, cast("SearchSpace | str", space_or_proxy)


def _score_one(
    arch: Any,
    build: Callable[[Any], nn.Module],
    names: Sequence[str],
    batch: ProxyBatch,
    dev: torch.device,
    seed: int,
    loss_fn: LossFn | None,
    timings: dict[str, list[float]] | None,
) -> np.ndarray:
    """Build ``arch``'s network from ``seed`` and compute every proxy of ``names`` on it."""
    scores = np.full(len(names), np.nan)
    devices = [dev.index if dev.index is not None else 0] if dev.type == "cuda" else []
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)
        model = build(arch).to(dev)
    if timings is not None:
        timings.setdefault("build", []).append(time.perf_counter() - t0)
    for j, name in enumerate(names):
        t0 = time.perf_counter()
        scores[j] = compute_proxy(name, model, batch, loss_fn=loss_fn, device=dev, seed=seed)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        if timings is not None:
            timings.setdefault(name, []).append(time.perf_counter() - t0)
    return scores


def score_architectures(
    space_or_proxy: SearchSpace | str | Sequence[str],
    archs: Sequence[Architecture | str | Mapping[str, Any]],
    proxy: str | Sequence[str] | None = None,
    *,
    space: SearchSpace | str | None = None,
    builder: Callable[[Any], nn.Module] | None = None,
    batch: ProxyBatch | Any | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
    loss_fn: LossFn | None = None,
    timings: dict[str, list[float]] | None = None,
) -> np.ndarray:
    """Build every architecture's network and compute one or several proxies on it.

    Each network is initialised from ``seed`` (the same seed for every architecture), so the
    scores are reproducible, and is built once for all the proxies asked for.

    Two call forms: ``score_architectures(space, archs, proxy)`` and
    ``score_architectures(proxy, archs, space=space)``.

    Args:
        space_or_proxy: The search space or its name (``"nb201"``, ``"nasbench_graph"``, ...);
            or, when ``space=`` is given, the proxy name(s).
        archs: Architectures of the space, their official strings or parameter dicts.
        proxy: A name of :data:`PROXIES` or a sequence of names (the first form).
        space: The search space or its name (the second form).
        builder: ``builder(arch) -> nn.Module``. Default: ``nb201`` ->
            :func:`~nas_meta_tune.oneshot.build_nb201` (C=16, N=5, 10 classes);
            ``nasbench_graph`` -> :func:`~nas_meta_tune.oneshot.build_gnn` sized from the
            graph batch. Pass e.g. ``functools.partial(build_nb201, C=8, N=1)`` for smaller
            networks.
        batch: The minibatch (see :func:`compute_proxy`). Default: for ``nasbench_graph`` the
            Cora graph (read offline, see :func:`~nas_meta_tune.oneshot.load_planetoid`); for
            ``nb201`` only the data-free proxies run without a batch (input shape
            ``(16, 3, 32, 32)``), the others raise ``ValueError``.
        device: Where the networks are built and scored (default: CUDA when available).
        seed: Seeds the initialisation and the proxies.
        loss_fn: Loss of the gradient proxies (default cross-entropy).
        timings: If given, ``timings[name]`` is extended with the seconds each proxy took per
            architecture (``timings["build"]`` with the network construction times).

    Returns:
        ``float64[len(archs)]`` for one proxy name, ``float64[len(archs), len(proxy)]`` for a
        sequence of names.
    """
    from ..spaces import get_space

    proxy, space_or_name = _call_form(space_or_proxy, proxy, space)
    if not isinstance(space_or_name, str) and not hasattr(space_or_name, "archs"):
        raise TypeError(f"space must be a SearchSpace or its name, but got {space_or_name!r}.")
    space = get_space(space_or_name) if isinstance(space_or_name, str) else space_or_name
    single = isinstance(proxy, str)
    names = [_check_name(p) for p in ([proxy] if single else list(proxy))]
    if not names:
        raise ValueError("proxy must name at least one proxy.")
    archs = space.archs(archs)
    dev = resolve_device(device)
    batch = _default_batch(space, names) if batch is None else ProxyBatch.of(batch)
    missing = [n for n in names if n in NEEDS_TARGETS and batch.targets is None]
    if missing:
        raise ValueError(f"proxies {missing} need labels: pass batch=(inputs, targets).")
    build = builder or _default_builder(space, batch)
    batch = batch.to(dev)
    out = np.full((len(archs), len(names)), np.nan)
    for i, arch in enumerate(archs):
        out[i] = _score_one(arch, build, names, batch, dev, seed, loss_fn, timings)
        if (i + 1) % 100 == 0:
            _log.debug("scored %d/%d architectures (pid %d)", i + 1, len(archs), os.getpid())
    return out[:, 0] if single else out
