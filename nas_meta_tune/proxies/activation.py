"""Proxies from how an untrained network separates the samples of one minibatch (Mellor et al.).

* ``jacob_cov`` (Mellor et al., "Neural Architecture Search without Training", first version,
  https://arxiv.org/abs/2006.04647v1): the Jacobian ``J_n = d(sum_k f_k(x_n)) / d x_n`` of every
  sample, flattened; ``C`` is the correlation matrix of the rows ``J_n`` and the score is
  ``-sum_i [log(v_i + k) + 1 / (v_i + k)]`` over the eigenvalues ``v_i`` of ``C``, ``k = 1e-5``.
  Higher is better (less correlated Jacobians).
* ``naswot`` (the ICML 2021 version of the same paper): every ReLU's input gives each sample a
  binary activation code ``c_n``; ``K[n, m] = N_A - hamming(c_n, c_m)`` (``N_A`` = number of
  units), accumulated over all ReLUs, and the score is ``log |det K|``.

Both use the network in training mode (BatchNorm with batch statistics) and need inputs but no
labels. ReLUs are found by intercepting ``relu`` calls (``nn.ReLU`` modules and functional
``F.relu`` / ``torch.relu`` alike), so networks that call ``F.relu`` directly (the GNNs of
:mod:`nas_meta_tune.oneshot.gnn`) are covered too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from .._device import resolve_device
from ._common import FunctionalModel, LossFn, ProxyBatch, proxy_context

__all__ = ["jacob_cov", "naswot", "JACOB_COV_K"]

#: the regulariser ``k`` of jacob_cov's eigenvalue sum
JACOB_COV_K = 1e-5

_RELUS = {F.relu, torch.relu, torch.relu_, F.relu_, torch.Tensor.relu, torch.Tensor.relu_}


def jacob_cov(
    model: nn.Module,
    batch: ProxyBatch | object,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> float:
    """Correlation of the input Jacobians across the batch (higher = less correlated).

    Rows with zero variance (e.g. a network whose output does not depend on its input: a cell
    of ``none`` operations) make the correlation undefined; such entries are set to 1 (fully
    correlated, the worst case), which gives a large negative, finite score.
    """
    dev = resolve_device(device)
    b = ProxyBatch.of(batch).to(dev)
    if b.x.shape[0] < 2:
        raise ValueError(f"jacob_cov needs a batch of >= 2 samples, but got {b.x.shape[0]}.")
    with proxy_context(model, dev, seed, train=True):
        fm = FunctionalModel(model, dev)
        x = b.x.detach().clone().requires_grad_(True)
        out = fm(*b.with_x(x))
        if out.requires_grad:
            (jac,) = torch.autograd.grad(
                out, x, grad_outputs=torch.ones_like(out), allow_unused=True
            )
        else:
            jac = None
        if jac is None:
            jac = torch.zeros_like(x)
    j = jac.reshape(jac.shape[0], -1).detach().cpu().double().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(j)
    corr = np.where(np.isfinite(corr), corr, 1.0)
    v = np.clip(np.linalg.eigvalsh((corr + corr.T) / 2), 0.0, None)
    return float(-np.sum(np.log(v + JACOB_COV_K) + 1.0 / (v + JACOB_COV_K)))


class ReLUCodeMode(TorchFunctionMode):
    """Intercepts every relu call (``nn.ReLU``, ``F.relu``, ``torch.relu``, ``Tensor.relu`` and
    their in-place forms) on a tensor whose first axis has the batch's ``n`` samples (or, for a
    tensor of 3+ axes, whose second-to-last axis does: PyG's node axis, as in ``ARMAConv``'s
    ``[stacks, nodes, channels]``), and passes the binary code ``x > 0`` of its input, flattened to
    ``bool[n, units]``, to :meth:`record`.

    Attributes:
        n: The number of samples.
        calls: How many relu calls were recorded.
    """

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = int(n)
        self.calls = 0

    def record(self, codes: torch.Tensor) -> None:
        """Called with ``bool[n, units]``: which of one relu call's units are active per sample."""
        raise NotImplementedError

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func in _RELUS and args and isinstance(args[0], torch.Tensor):
            x = args[0].detach()
            if x.dim() >= 3 and x.shape[0] != self.n and x.shape[-2] == self.n:
                x = x.movedim(-2, 0)  # PyG's node axis (ARMAConv's act sees [stacks, N, C])
            if x.dim() >= 1 and x.shape[0] == self.n and x.numel() > 0 and not x.is_sparse:
                self.record(x.reshape(self.n, -1) > 0)
                self.calls += 1
        return func(*args, **kwargs)


_Recorder = TypeVar("_Recorder", bound=ReLUCodeMode)


class _ReLUCodes(ReLUCodeMode):
    """Accumulates the NASWOT kernel from the input of every relu call."""

    def __init__(self, n: int, device: torch.device) -> None:
        super().__init__(n)
        self.K = torch.zeros((n, n), dtype=torch.float64, device=device)

    def record(self, codes: torch.Tensor) -> None:
        c = codes.float()
        # codes agree where both are 1 or both are 0: N_A - hamming distance
        self.K += (c @ c.T + (1.0 - c) @ (1.0 - c).T).double()


def record_relu_codes(
    name: str,
    recorder: Callable[[int, torch.device], _Recorder],
    model: nn.Module,
    batch: ProxyBatch | Any,
    *,
    device: str | torch.device | None,
    seed: int,
) -> _Recorder:
    """One forward pass of ``batch`` in training mode (no gradients, on a private copy of the
    model's state) with ``recorder(n_samples, device)`` collecting the ReLU codes; the recorder.

    Raises:
        ValueError: an empty batch, or no ReLU was applied to per-sample tensors (``name`` is the
            proxy the message names).
    """
    dev = resolve_device(device)
    b = ProxyBatch.of(batch).to(dev)
    n = b.x.shape[0] if b.x.dim() >= 1 else 0
    if n < 1:
        raise ValueError(f"{name} needs a batch of >= 1 samples, but got {n}.")
    with proxy_context(model, dev, seed, train=True):
        fm = FunctionalModel(model, dev)
        codes = recorder(n, dev)
        with torch.no_grad(), codes:
            fm(*b.inputs)
    if codes.calls == 0:
        raise ValueError(
            f"{name} found no ReLU applied to the batch's {n} samples in {type(model).__name__}."
        )
    return codes


def naswot(
    model: nn.Module,
    batch: ProxyBatch | object,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> float:
    """``log |det K|`` of the binary ReLU activation-code kernel of the batch.

    Returns ``-inf`` when ``K`` is singular (e.g. all samples share one activation code, as in a
    network of ``none`` cells).

    Raises:
        ValueError: the network calls no ReLU on per-sample tensors.
    """
    codes = record_relu_codes("naswot", _ReLUCodes, model, batch, device=device, seed=seed)
    sign, logdet = torch.linalg.slogdet(codes.K.cpu())
    return float(logdet) if float(sign) > 0 else float("-inf")
