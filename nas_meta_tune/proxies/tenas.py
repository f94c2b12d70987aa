"""The two training-free indicators of TE-NAS (Chen, Gong & Wang, "Neural Architecture Search on
ImageNet in Four GPU Hours: A Theoretically Inspired Perspective", ICLR 2021,
https://arxiv.org/abs/2102.11535): trainability and expressivity.

* ``ntk``: the empirical neural tangent kernel of the batch, ``Theta = J J^T``, where row ``J_i``
  is the gradient of sample ``i``'s summed output ``sum_k f_k(x_i)`` with respect to all trainable
  parameters (concatenated and flattened). Its condition number ``kappa = lambda_max /
  lambda_min`` (eigenvalues of ``Theta``) predicts trainability, lower being better; the score is
  ``-kappa`` so that, as for every proxy, higher means "predicted better".
* ``linear_regions``: each sample's activation pattern is the concatenation of the binary code
  ``pre-activation > 0`` of every ReLU the network applies to it; the score is the number of
  distinct patterns among the batch's samples, i.e. the number of linear regions of the network
  the samples fall into (higher = more expressive = better).

Both run the network in training mode (BatchNorm with batch statistics), as TE-NAS does at
initialisation, on a private copy of its state (the model is left unchanged), and need inputs but
no labels. ReLUs are found as naswot finds them (:class:`~.activation.ReLUCodeMode`: ``nn.ReLU``
modules and functional ``F.relu`` / ``torch.relu`` alike).

Differences from the authors' code (https://github.com/VITA-Group/TENAS): their NTK differentiates
only the parameters whose name contains ``"weight"`` (no biases); here all trainable parameters
are used, as in the definition of the NTK. Their condition number of a singular kernel is whatever
the division gives (``nan`` mapped to 1e5); here a singular kernel scores ``-inf``. They count
linear regions on 3 batches of 1000 single-channel 3x3 crops through a one-channel network, where
the count is far below the number of samples; here the samples are the batch given.
"""

from __future__ import annotations

import torch
from torch import nn

from .._device import resolve_device
from ._common import FunctionalModel, LossFn, ProxyBatch, proxy_context
from .activation import ReLUCodeMode, record_relu_codes

__all__ = ["ntk", "linear_regions"]

#: columns of the Jacobian turned into float64 at a time when the kernel is formed
_KERNEL_CHUNK = 1 << 20


def _kernel(jac: torch.Tensor) -> torch.Tensor:
    """``jac @ jac.T`` accumulated in float64 (column chunks, so at most one chunk is doubled)."""
    m = jac.shape[0]
    theta = torch.zeros((m, m), dtype=torch.float64, device=jac.device)
    for start in range(0, jac.shape[1], _KERNEL_CHUNK):
        c = jac[:, start : start + _KERNEL_CHUNK].double()
        theta += c @ c.T
    return theta


def _kernel_rows(out: object, b: ProxyBatch, n: int, dev: torch.device) -> torch.Tensor:
    """The output rows that are samples of the kernel: all ``n``, or the batch's masked ones."""
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"ntk needs a tensor output, but the model returned {type(out).__name__}.")
    if out.dim() < 1 or out.shape[0] != n:
        raise ValueError(
            f"ntk needs one output row per sample: the batch has {n} samples, but the output "
            f"has shape {tuple(out.shape)}."
        )
    rows = torch.arange(n, device=dev)
    if b.mask is not None:
        rows = rows[b.mask.to(dev)]
    m = int(rows.numel())
    if m < 2:
        raise ValueError(f"ntk needs a batch of >= 2 samples, but got {m}.")
    return rows


def _jacobian(
    out: torch.Tensor, rows: torch.Tensor, params: list[torch.Tensor], dev: torch.device
) -> torch.Tensor:
    """Row ``r``: the gradient of ``out[rows[r]].sum()`` over ``params``, flattened and joined.

    Zero where the output does not depend on the parameters (no graph, or an unused parameter).
    """
    width = sum(p.numel() for p in params)
    wide = any(p.dtype == torch.float64 for p in params)
    jac = torch.zeros(
        (int(rows.numel()), width), dtype=torch.float64 if wide else torch.float32, device=dev
    )
    if out.requires_grad:
        for r, i in enumerate(rows.tolist()):
            grads = torch.autograd.grad(out[i].sum(), params, retain_graph=True, allow_unused=True)
            jac[r] = torch.cat(
                [
                    (torch.zeros_like(p) if g is None else g).reshape(-1)
                    for p, g in zip(params, grads)
                ]
            )
    return jac


def _minus_condition(theta: torch.Tensor, m: int) -> float:
    """``-lambda_max / lambda_min`` of the ``m x m`` kernel, ``-inf`` when it is singular."""
    if not bool(torch.isfinite(theta).all()):
        return float("-inf")
    ev = torch.linalg.eigvalsh((theta + theta.T) / 2)
    lmin, lmax = float(ev[0]), float(ev[-1])
    if not lmax > 0 or lmin <= m * torch.finfo(torch.float64).eps * lmax:
        return float("-inf")
    return -lmax / lmin


def ntk(
    model: nn.Module,
    batch: ProxyBatch | object,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> float:
    """Minus the condition number of the empirical NTK of the batch (higher = better trainable).

    ``J_i = d(sum_k f_k(x_i)) / d theta`` over all trainable parameters ``theta`` (those with
    ``requires_grad``), computed by one backward pass per sample through a single forward pass of
    the whole batch (so in training mode the BatchNorm statistics couple the samples, as in
    TE-NAS); ``Theta = J J^T`` in float64, and the score is ``-lambda_max / lambda_min`` of its
    eigenvalues (:func:`torch.linalg.eigvalsh`). ``-1.0`` is the best possible score.

    Args:
        model: The network; its output's first axis indexes the samples (the rows of the batch's
            first input).
        batch: The inputs (labels are not used). With a ``mask`` (the training nodes of a graph
            batch) only the masked output rows are samples of the kernel, the points whose loss
            training would follow.
        loss_fn: Not used.
        device: Where to compute (default: CUDA when available).
        seed: Seeds dropout.

    Returns:
        ``-kappa``, or ``-inf`` when ``Theta`` is numerically singular: non-finite, or
        ``lambda_min <= m * eps * lambda_max`` (``m`` samples, ``eps`` the float64 machine
        epsilon, the tolerance of :func:`numpy.linalg.matrix_rank`). That happens when the
        output does not depend on the inputs (a cell of ``none`` operations), when two samples
        are equal, or when there are more samples than parameters.

    Raises:
        ValueError: fewer than 2 samples, no trainable parameters, or an output whose first
            axis does not match the batch.
        TypeError: the model's output is not a tensor.
    """
    dev = resolve_device(device)
    b = ProxyBatch.of(batch).to(dev)
    n = b.x.shape[0] if b.x.dim() >= 1 else 0
    names = [k for k, p in model.named_parameters() if p.requires_grad and p.is_floating_point()]
    if not names:
        raise ValueError(f"ntk needs trainable parameters, but {type(model).__name__} has none.")
    with proxy_context(model, dev, seed, train=True):
        fm = FunctionalModel(model, dev)
        params = [fm.params[k] for k in names]
        out = fm(*b.inputs)
        rows = _kernel_rows(out, b, n, dev)
        jac = _jacobian(out, rows, params, dev)
        del out
    return _minus_condition(_kernel(jac).cpu(), int(rows.numel()))


class _ActivationPatterns(ReLUCodeMode):
    """Labels every sample with its pattern so far; equal labels = equal codes at every relu."""

    def __init__(self, n: int, device: torch.device) -> None:
        super().__init__(n)
        self.ids = torch.zeros(n, dtype=torch.long, device=device)

    def record(self, codes: torch.Tensor) -> None:
        _, new = torch.unique(codes.to(torch.uint8), dim=0, return_inverse=True)
        # the pair (pattern so far, this relu's code) as one integer, relabelled 0..k-1
        _, self.ids = torch.unique(self.ids * (int(new.max()) + 1) + new, return_inverse=True)

    @property
    def count(self) -> int:
        return int(self.ids.max()) + 1


def linear_regions(
    model: nn.Module,
    batch: ProxyBatch | object,
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> float:
    """Number of distinct ReLU activation patterns among the batch's samples (higher = better).

    A sample's pattern is the concatenation, over every relu call on a tensor whose first axis
    has the batch's samples, of the binary code ``input > 0`` of all its units. The count lies in
    ``[1, n]`` for ``n`` samples: with few high-dimensional samples nearly every sample falls in
    its own region and the count saturates at ``n`` (TE-NAS counts over 3000 small crops for that
    reason), so use many samples for it to tell architectures apart.

    Args:
        model: The network.
        batch: The inputs (labels and mask are not used); for a graph, every node is a sample.
        loss_fn: Not used.
        device: Where to compute (default: CUDA when available).
        seed: Seeds dropout.

    Returns:
        The count as a float; ``1.0`` when all samples share one pattern (e.g. a network of
        ``none`` cells).

    Raises:
        ValueError: an empty batch, or the network calls no ReLU on per-sample tensors.
    """
    patterns = record_relu_codes(
        "linear_regions", _ActivationPatterns, model, batch, device=device, seed=seed
    )
    return float(patterns.count)
