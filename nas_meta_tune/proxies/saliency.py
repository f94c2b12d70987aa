"""Pruning-at-initialisation saliencies summed over a network, as zero-cost NAS proxies.

Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021
(https://arxiv.org/abs/2101.08134) turned per-parameter pruning saliencies into architecture
scores by summing them over every weight of the network. The weights are the convolution kernels
and linear weight matrices (here: every parameter with >= 2 dimensions). Gradients are taken of
the loss (cross-entropy by default) on one minibatch, with the network in training mode
(BatchNorm uses batch statistics), as in the paper.

* ``snip`` (Lee et al. 2019): ``sum |dL/dw * w|``.
* ``grasp`` (Wang et al. 2020): ``sum -w * (H g)`` with ``g = dL/dw`` and ``H`` the Hessian of
  the loss; ``Hg`` is a Hessian-vector product at the (detached) gradient.
* ``gradnorm``: ``sum over weight tensors of ||dL/dW||_2``.
* ``fisher`` (Theis et al. 2018): per output channel ``c`` of each weight layer,
  ``0.5 * mean_n (sum_{spatial} a * dL/da)^2`` with ``a`` the layer's output; as in the paper's
  per-parameter form each channel's value counts once per weight of that channel (times
  ``prod(W.shape[1:])``) before summing.
* ``synflow`` (Tanaka et al., NeurIPS 2020, https://arxiv.org/abs/2006.05467): data-free. All
  parameters are replaced by their absolute values, the input by a single all-ones sample, the
  network runs in double precision with BatchNorm bypassed (the NAS adaptation) and in eval mode;
  ``R = sum(outputs)`` and the score is ``sum dR/dw * w``.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from .._device import resolve_device
from ._common import (
    FunctionalModel,
    LossFn,
    ProxyBatch,
    as_float,
    loss_of,
    proxy_context,
)

__all__ = ["snip", "grasp", "gradnorm", "fisher", "synflow"]


def _grads(
    model: nn.Module,
    batch: ProxyBatch,
    loss_fn: LossFn | None,
    device: torch.device,
) -> tuple[FunctionalModel, list[torch.Tensor], list[torch.Tensor | None]]:
    fm = FunctionalModel(model, device)
    _, weights = fm.weights()
    loss = loss_of(fm(*batch.inputs), batch, loss_fn)
    grads = torch.autograd.grad(loss, weights, allow_unused=True) if weights else ()
    return fm, weights, list(grads)


def snip(
    model: nn.Module,
    batch: ProxyBatch | object,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> float:
    """SNIP connection sensitivity summed over all weights: ``sum |dL/dw * w|``."""
    dev = resolve_device(device)
    b = ProxyBatch.of(batch).to(dev)
    with proxy_context(model, dev, seed, train=True):
        _, weights, grads = _grads(model, b, loss_fn, dev)
        total = sum(((g * w).abs().sum() for w, g in zip(weights, grads) if g is not None), 0.0)
    return as_float(total)


def gradnorm(
    model: nn.Module,
    batch: ProxyBatch | object,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> float:
    """Sum over weight tensors of the Euclidean norm of the loss gradient."""
    dev = resolve_device(device)
    b = ProxyBatch.of(batch).to(dev)
    with proxy_context(model, dev, seed, train=True):
        _, _, grads = _grads(model, b, loss_fn, dev)
        total = sum((g.norm() for g in grads if g is not None), 0.0)
    return as_float(total)


def grasp(
    model: nn.Module,
    batch: ProxyBatch | object,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> float:
    """GraSP summed over all weights: ``sum -w * (H g)`` (Hessian-gradient product)."""
    dev = resolve_device(device)
    b = ProxyBatch.of(batch).to(dev)
    with proxy_context(model, dev, seed, train=True):
        fm = FunctionalModel(model, dev)
        _, weights = fm.weights()
        if not weights:
            return 0.0
        loss = loss_of(fm(*b.inputs), b, loss_fn)
        grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
        used = [(w, g) for w, g in zip(weights, grads) if g is not None]
        z = sum(((g.detach() * g).sum() for _, g in used), torch.zeros((), device=dev))
        if not z.requires_grad:
            return 0.0
        hg = torch.autograd.grad(z, [w for w, _ in used], allow_unused=True)
        total = sum(((-w.detach() * h).sum() for (w, _), h in zip(used, hg) if h is not None), 0.0)
    return as_float(total)


def _layers_with_weight(model: nn.Module) -> list[nn.Module]:
    return [
        m
        for m in model.modules()
        if isinstance(getattr(m, "weight", None), torch.Tensor)
        and "weight" in m._parameters
        and cast(torch.Tensor, m.weight).dim() >= 2  # a tensor: checked above
        and not isinstance(m, nn.Embedding)
    ]


def fisher(
    model: nn.Module,
    batch: ProxyBatch | object,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> float:
    """Fisher channel saliency of every weight layer's output, broadcast to its weights, summed."""
    dev = resolve_device(device)
    b = ProxyBatch.of(batch).to(dev)
    totals: dict[nn.Module, torch.Tensor] = {}

    def forward_hook(mod: nn.Module, args: tuple, out: object) -> None:
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            return
        act = out.detach()

        def grad_hook(grad: torch.Tensor) -> None:
            prod = act * grad.detach()
            g_nk = prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod
            del_k = 0.5 * g_nk.pow(2).mean(0)
            totals[mod] = totals[mod] + del_k if mod in totals else del_k

        out.register_hook(grad_hook)

    with proxy_context(model, dev, seed, train=True) as handles:
        layers = _layers_with_weight(model)
        for m in layers:
            handles.append(m.register_forward_hook(forward_hook))
        _grads(model, b, loss_fn, dev)
        total = torch.zeros((), dtype=torch.float64, device=dev)
        for m in layers:
            if m in totals:
                fan_in = int(torch.tensor(cast(torch.Tensor, m.weight).shape[1:]).prod())
                total = total + totals[m].abs().sum().double() * fan_in
    return as_float(total)


def synflow(
    model: nn.Module,
    batch: ProxyBatch | object,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> float:
    """SynFlow (data-free): ``sum dR/dw * w`` with ``|params|``, an all-ones input, float64.

    Only the batch's input shape is used: a single-input model gets one all-ones sample of
    ``x.shape[1:]``; a model with more inputs (a graph network: ``x, edge_index``) keeps them and
    gets ``x`` replaced by ones. ``loss_fn`` is not used.
    """
    dev = resolve_device(device)
    b = ProxyBatch.of(batch).to(dev)
    with proxy_context(model, dev, seed, train=False) as handles:
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                handles.append(m.register_forward_hook(lambda mod, args, out: args[0]))
        fm = FunctionalModel(model, dev, dtype=torch.float64, transform=lambda n, t: t.abs())
        _, weights = fm.weights()
        x = b.x
        shape = (1, *x.shape[1:]) if len(b.inputs) == 1 else tuple(x.shape)
        ones = torch.ones(shape, dtype=torch.float64, device=dev)
        out = fm(*b.with_x(ones))
        if not weights or not out.requires_grad:
            return 0.0
        grads = torch.autograd.grad(out.sum(), weights, allow_unused=True)
        total = sum(((g * w).abs().sum() for w, g in zip(weights, grads) if g is not None), 0.0)
    return as_float(total)
