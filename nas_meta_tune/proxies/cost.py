"""Size baselines: parameter count and FLOPs (multiply-accumulates) of one forward pass."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from .._device import resolve_device
from ._common import FunctionalModel, LossFn, ProxyBatch, proxy_context

__all__ = ["params", "flops"]


def params(
    model: nn.Module,
    batch: ProxyBatch | object | None = None,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> float:
    """Number of parameters (every tensor of ``model.parameters()``, shared ones once)."""
    return float(sum(p.numel() for p in model.parameters()))


def _is_mac_layer(m: nn.Module) -> bool:
    if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
        return True
    # torch_geometric's own Linear (used inside its graph convolutions)
    w = m._parameters.get("weight")
    return type(m).__name__ == "Linear" and w is not None and w.dim() == 2


def flops(
    model: nn.Module,
    batch: ProxyBatch | object,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> float:
    """Multiply-accumulates of the convolution and linear layers for ONE input sample.

    Counted per call of every such layer: ``output elements x prod(W.shape[1:])`` (for a
    convolution ``C_out H_out W_out x C_in/groups x k_h x k_w``; for a transposed convolution
    ``input elements x prod(W.shape[1:])``). BatchNorm, pooling, activations and additions are
    not counted. A single-input model is run on the first sample of the batch; a model with more
    inputs (a graph network) on the whole batch (one graph = one sample).
    """
    dev = resolve_device(device)
    b = ProxyBatch.of(batch).to(dev)
    count = [0]

    def hook(mod: nn.Module, args: tuple, out: object) -> None:
        if not isinstance(out, torch.Tensor):
            return
        fan = 1
        for s in cast(torch.Tensor, mod.weight).shape[1:]:  # hooked layers have a weight tensor
            fan *= int(s)
        ref = args[0] if isinstance(mod, nn.modules.conv._ConvTransposeNd) else out
        count[0] += ref.numel() * fan

    with proxy_context(model, dev, seed, train=False) as handles:
        for m in model.modules():
            if _is_mac_layer(m):
                handles.append(m.register_forward_hook(hook))
        fm = FunctionalModel(model, dev)
        inputs = (b.x[:1],) if len(b.inputs) == 1 else b.inputs
        with torch.no_grad():
            fm(*inputs)
    return float(count[0])
