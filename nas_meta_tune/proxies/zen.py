"""Zen-score (Lin et al., "Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition",
ICCV 2021, https://arxiv.org/abs/2102.01063): data-free.

All weights are drawn from N(0, 1) (convolution and linear layers; their biases set to 0;
normalisation layers get weight 1 and bias 0), the input ``x`` and a perturbation ``eps`` are
standard Gaussian, and with ``f`` the feature map before global average pooling,

    Delta = E_n || f(x_n) - f(x_n + alpha * eps_n) ||_F,    alpha = 0.01,
    Zen = log(Delta) + sum_i log(sigma_i),   sigma_i = sqrt(mean_j sigma_{i,j}^2),

where ``sigma_{i,j}^2`` is the mini-batch variance BatchNorm layer ``i`` normalises channel ``j``
by (BatchNorm runs in training mode; dropout is off) during the forward pass of ``x``. The authors' code
measures ``Delta`` with the entry-wise L1 norm and reads the BN variance from the running
statistics; here the paper's definition is followed.

``f`` is ``model.forward_features`` when the model has that method (the NAS-Bench-201 networks of
:func:`nas_meta_tune.oneshot.build_nb201` do), else the model's output.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from .._device import resolve_device
from ._common import FunctionalModel, LossFn, ProxyBatch, is_norm, proxy_context

__all__ = ["zen"]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _layer_names(model: nn.Module) -> tuple[set[str], set[str]]:
    """The normalisation layers' parameter names, and the names of the layers with a weight of
    two or more dimensions (convolutions and linear layers)."""
    norm_params = {
        _join(name, p)
        for name, m in model.named_modules()
        if is_norm(m)
        for p in ("weight", "bias")
    }
    weight_layers = {
        name
        for name, m in model.named_modules()
        if "weight" in m._parameters and m.weight is not None and m.weight.dim() >= 2
    }
    return norm_params, weight_layers


def _gaussian_init(
    norm_params: set[str], weight_layers: set[str], g: torch.Generator
) -> Callable[[str, torch.Tensor], torch.Tensor]:
    """The Zen-NAS initialisation as a :class:`FunctionalModel` transform: N(0, 1) weights
    (drawn from ``g``) and zero biases for ``weight_layers``, 1 and 0 for ``norm_params``."""

    def init(name: str, t: torch.Tensor) -> torch.Tensor:
        if name in norm_params:
            return torch.ones_like(t) if name.endswith("weight") else torch.zeros_like(t)
        owner, _, leaf = name.rpartition(".")
        if owner in weight_layers:
            if leaf == "weight":
                return torch.randn(t.shape, generator=g, device=t.device, dtype=t.dtype)
            if leaf == "bias":
                return torch.zeros_like(t)
        return t

    return init


class _BNVariances:
    """While ``capture`` is on, records each BatchNorm input's mini-batch variance (per channel,
    averaged over the channels) as a forward pre-hook."""

    def __init__(self) -> None:
        self.values: list[torch.Tensor] = []
        self.capture = False

    def pre_hook(self, mod: nn.Module, args: tuple) -> None:
        if self.capture:
            x = args[0]
            dims = [d for d in range(x.dim()) if d != 1]
            self.values.append(x.var(dim=dims, unbiased=False).mean())


def _draw_score(
    fm: FunctionalModel,
    method: str,
    b: ProxyBatch,
    g: torch.Generator,
    dev: torch.device,
    mixup_gamma: float,
    variances: _BNVariances,
) -> float:
    """``log(Delta) + sum_i log(sigma_i)`` for one draw of the inputs (weights drawn by ``fm``)."""
    x = torch.randn(b.x.shape, generator=g, device=dev, dtype=torch.float32)
    eps = torch.randn(b.x.shape, generator=g, device=dev, dtype=torch.float32)
    with torch.no_grad():
        variances.values.clear()
        variances.capture = True
        f1 = fm.call_method(method, *b.with_x(x))
        variances.capture = False
        f2 = fm.call_method(method, *b.with_x(x + mixup_gamma * eps))
    diff = (f1 - f2).reshape(f1.shape[0], -1)
    delta = float(diff.double().norm(dim=1).mean())
    log_bn = sum(0.5 * math.log(float(v)) if float(v) > 0 else -math.inf for v in variances.values)
    return (math.log(delta) if delta > 0 else -math.inf) + log_bn


def zen(
    model: nn.Module,
    batch: ProxyBatch | object,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
    mixup_gamma: float = 1e-2,
    repeat: int = 1,
) -> float:
    """Zen-score of ``model`` (data-free: only the shape of the batch's input is used).

    Args:
        model: The network.
        batch: Gives the input shape (batch size included); its values are not used.
        loss_fn: Not used.
        device: Where to compute (default: CUDA when available).
        seed: Seeds the Gaussian weights and inputs.
        mixup_gamma: The perturbation size ``alpha``.
        repeat: Average over this many draws of weights and inputs.

    Returns:
        The score; ``-inf`` when the features do not depend on the input (``Delta = 0``, e.g. a
        cell of ``none`` operations).
    """
    if repeat < 1 or mixup_gamma <= 0:
        raise ValueError(
            f"need repeat >= 1 and mixup_gamma > 0, but got {repeat=}, {mixup_gamma=}."
        )
    dev = resolve_device(device)
    b = ProxyBatch.of(batch).to(dev)
    method = "forward_features" if callable(getattr(model, "forward_features", None)) else "forward"
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    norm_params, weight_layers = _layer_names(model)
    scores = []
    with proxy_context(model, dev, seed, train=False) as handles:
        for m in bns:  # BatchNorm with batch statistics, dropout off
            m.train()
        g = torch.Generator(device=dev).manual_seed(int(seed))
        init = _gaussian_init(norm_params, weight_layers, g)
        variances = _BNVariances()
        for m in bns:
            handles.append(m.register_forward_pre_hook(variances.pre_hook))
        for _ in range(repeat):
            fm = FunctionalModel(model, dev, transform=init)
            scores.append(_draw_score(fm, method, b, g, dev, mixup_gamma, variances))
    return float(sum(scores) / len(scores))
