"""What every proxy shares: the batch, the device, and a side-effect-free way to run a model.

Every proxy runs the model through :func:`torch.func.functional_call` on *copies* of its state:
parameters are fresh leaf tensors (views of the model's, or converted/re-initialised copies),
buffers are cloned, so gradients never land in ``param.grad``, BatchNorm running statistics are
not updated and the model's parameters are never written. The modules' ``training`` flags are
restored and every hook a proxy registers is removed, also when the proxy raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._device import seeded_rng

__all__ = ["ProxyBatch", "LossFn", "gaussian_standin_batch"]

#: ``loss_fn(outputs, targets) -> scalar tensor``
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ProxyBatch:
    """One minibatch as the proxies see it.

    Attributes:
        inputs: Positional arguments of the model (``(images,)``, or ``(x, edge_index)`` for a
            graph network). The first one is "the input" that SynFlow replaces by ones, Zen by
            Gaussian noise and jacob_cov differentiates against; its first axis indexes samples.
        targets: Class labels (needed by snip, grasp, gradnorm and fisher).
        mask: Optional boolean mask over the output rows the loss is taken on (e.g. the training
            nodes of a graph).
    """

    inputs: tuple[torch.Tensor, ...]
    targets: torch.Tensor | None = None
    mask: torch.Tensor | None = None

    @classmethod
    def of(cls, batch: Any) -> ProxyBatch:
        """Normalise ``batch``: a :class:`ProxyBatch`; a tensor of inputs; ``(inputs, targets)``
        where ``inputs`` is a tensor or a tuple of tensors; or a graph object with ``x``,
        ``edge_index`` and optionally ``y`` and ``train_mask`` (a torch_geometric ``Data``)."""
        if isinstance(batch, ProxyBatch):
            return batch
        if isinstance(batch, torch.Tensor):
            return cls((batch,))
        if hasattr(batch, "x") and hasattr(batch, "edge_index"):
            return cls(
                (batch.x, batch.edge_index),
                getattr(batch, "y", None),
                getattr(batch, "train_mask", None),
            )
        if isinstance(batch, (tuple, list)) and len(batch) == 2:
            x, y = batch
            inputs = (x,) if isinstance(x, torch.Tensor) else tuple(x)
            if not inputs or not all(isinstance(t, torch.Tensor) for t in inputs):
                raise TypeError(
                    "batch inputs must be a tensor or a tuple of tensors, but got "
                    f"{type(x).__name__}."
                )
            if y is not None and not isinstance(y, torch.Tensor):
                y = torch.as_tensor(y)
            return cls(inputs, y)
        raise TypeError(
            "batch must be a ProxyBatch, a tensor, (inputs, targets) or a graph with x and "
            f"edge_index, but got {type(batch).__name__}."
        )

    @property
    def x(self) -> torch.Tensor:
        return self.inputs[0]

    def to(self, device: torch.device) -> ProxyBatch:
        mv = lambda t: None if t is None else t.to(device)  # noqa: E731
        return ProxyBatch(tuple(t.to(device) for t in self.inputs), mv(self.targets), mv(self.mask))

    def with_x(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The model's arguments with the first one replaced by ``x``."""
        return (x, *self.inputs[1:])


def gaussian_standin_batch(
    n: int = 64,
    shape: Sequence[int] = (3, 32, 32),
    num_classes: int = 10,
    *,
    seed: int = 0,
) -> ProxyBatch:
    """A STAND-IN batch of standard Gaussian images with uniformly random labels. NOT data.

    For exercising the data-dependent proxies where no real images are available; a score
    computed on it says nothing about the network on real data, so label results accordingly.
    """
    if n < 1 or num_classes < 1:
        raise ValueError(f"need n >= 1 and num_classes >= 1, but got {n=}, {num_classes=}.")
    g = torch.Generator().manual_seed(int(seed))
    x = torch.randn((n, *shape), generator=g)
    y = torch.randint(0, num_classes, (n,), generator=g)
    return ProxyBatch((x,), y)


def loss_of(out: torch.Tensor, batch: ProxyBatch, loss_fn: LossFn | None) -> torch.Tensor:
    if batch.targets is None:
        raise ValueError(
            "this proxy needs targets: pass batch=(inputs, targets) (a batch of real labelled data)."
        )
    y = batch.targets
    if batch.mask is not None:
        out, y = out[batch.mask], y[batch.mask]
    return (loss_fn or F.cross_entropy)(out, y)


def weight_names(model: nn.Module) -> list[str]:
    """Names of the weight tensors: parameters with >= 2 dimensions (convolution kernels,
    linear weight matrices), the layers the pruning saliencies are defined on."""
    return [n for n, p in model.named_parameters() if p.dim() >= 2]


def is_norm(m: nn.Module) -> bool:
    return isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm))


class _Bound(nn.Module):
    """Calls ``getattr(model, method)`` as its forward, so functional_call can run any method."""

    def __init__(self, model: nn.Module, method: str) -> None:
        super().__init__()
        self.m = model
        self._method = method

    def forward(self, *args: Any) -> Any:
        return getattr(self.m, self._method)(*args)


class FunctionalModel:
    """``model`` run on a private copy of its state (see the module docstring).

    Attributes:
        params: name -> leaf tensor used in place of the model's parameter (``requires_grad``
            for floating-point parameters).
        buffers: name -> cloned buffer.
    """

    def __init__(
        self,
        model: nn.Module,
        device: torch.device,
        *,
        dtype: torch.dtype | None = None,
        transform: Callable[[str, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.model = model
        self.params: dict[str, torch.Tensor] = {}
        for name, p in model.named_parameters():
            t = p.detach().to(device)
            if dtype is not None and t.is_floating_point():
                t = t.to(dtype)
            if transform is not None:
                t = transform(name, t)
            if t.is_floating_point():
                t = t.detach().requires_grad_(True)
            self.params[name] = t
        self.buffers: dict[str, torch.Tensor] = {}
        for name, b in model.named_buffers():
            t = b.detach().to(device)
            if dtype is not None and t.is_floating_point():
                t = t.to(dtype)
            self.buffers[name] = t.clone()

    def _state(self, prefix: str = "") -> dict[str, torch.Tensor]:
        return {prefix + k: v for k, v in (*self.params.items(), *self.buffers.items())}

    def __call__(self, *args: torch.Tensor) -> Any:
        return torch.func.functional_call(self.model, self._state(), args)

    def call_method(self, method: str, *args: torch.Tensor) -> Any:
        if method == "forward":
            return self(*args)
        return torch.func.functional_call(_Bound(self.model, method), self._state("m."), args)

    def weights(self) -> tuple[list[str], list[torch.Tensor]]:
        names = [n for n in weight_names(self.model) if self.params[n].requires_grad]
        return names, [self.params[n] for n in names]


@contextlib.contextmanager
def proxy_context(
    model: nn.Module, device: torch.device, seed: int, *, train: bool
) -> Iterator[list]:
    """Seed torch's generators (restored afterwards), set train/eval mode (flags restored), and
    collect hook handles in the yielded list (all removed on exit)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, but got {type(model).__name__}.")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, but got {seed!r}.")
    flags = [(m, m.training) for m in model.modules()]
    handles: list = []
    try:
        with seeded_rng(seed, device):
            model.train(train)
            yield handles
    finally:
        for h in handles:
            h.remove()
        for m, flag in flags:
            m.training = flag


def as_float(t: torch.Tensor | float) -> float:
    return float(t.detach().cpu()) if isinstance(t, torch.Tensor) else float(t)
