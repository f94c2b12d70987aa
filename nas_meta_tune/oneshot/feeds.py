"""What a one-shot trainer trains on: a data feed gives the minibatch of every step, the
evaluation of a path over a split, and the optimiser settings that suit the data.

* :class:`GraphFeed`: one graph (a torch_geometric ``Data`` with train/val/test masks), full
  batch: every step sees the whole graph, the loss reads the split's nodes.
* :class:`ImageFeed`: in-memory images, minibatches that run through the training set in epochs
  (a fresh permutation each epoch, seeded by ``(seed, epoch, split)``; the last incomplete batch
  dropped), evaluation in chunks of about ``batch_size``.

Both make the minibatch of step ``t`` a function of ``(seed, t)`` only, so a trainer's whole random
state is ``(seed, steps_done)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["Batch", "DataFeed", "GraphFeed", "ImageFeed", "OptimSettings", "as_feed"]

Logits = Callable[[tuple[Any, ...]], torch.Tensor]


@dataclass(frozen=True)
class OptimSettings:
    """Weight-optimiser settings (the defaults a feed suggests for its kind of data).

    Args:
        optimizer: ``"adam"`` or ``"sgd"``.
        lr: Learning rate.
        momentum: SGD momentum (``0`` for Adam).
        weight_decay: L2 penalty.
        grad_clip: Maximal gradient 2-norm, or ``None`` for no clipping.
    """

    optimizer: str
    lr: float
    momentum: float
    weight_decay: float
    grad_clip: float | None


@dataclass(frozen=True)
class Batch:
    """One minibatch: ``supernet(*inputs, arch)`` gives logits, the loss reads ``mask``'s rows
    (all rows when ``None``)."""

    inputs: tuple[Any, ...]
    target: torch.Tensor
    mask: torch.Tensor | None = None

    def loss(self, logits: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of ``logits`` on the batch."""
        if self.mask is None:
            return F.cross_entropy(logits, self.target)
        return F.cross_entropy(logits[self.mask], self.target[self.mask])


class DataFeed:
    """Base class of data feeds (see the module docstring).

    Attributes:
        splits: The split names :meth:`evaluate` accepts.
        defaults: The optimiser settings trainers use unless told otherwise.
        data: The data as the user gave it.
    """

    splits: tuple[str, ...]
    defaults: OptimSettings
    data: Any

    def to(self, device: torch.device) -> DataFeed:
        """The feed with its tensors on ``device``."""
        raise NotImplementedError

    def batch(self, split: str, step: int, seed: int) -> Batch:
        """Minibatch ``step`` of ``split`` (``"train"`` or ``"valid"``) for a trainer's seed."""
        raise NotImplementedError

    def evaluate(self, logits: Logits, split: str) -> tuple[float, float]:
        """``(accuracy %, mean cross-entropy)`` of the model ``logits(inputs)`` over ``split``."""
        raise NotImplementedError

    def proxy_batch(self, seed: int) -> Any:
        """One batch in the form :func:`~nas_meta_tune.proxies.compute_proxy` takes."""
        raise NotImplementedError

    def check(self, supernet: Any) -> None:
        """Raise ``ValueError`` when the data does not fit ``supernet``; default: no check."""

    def _check_split(self, split: str) -> None:
        if split not in self.splits:
            raise ValueError(f"split must be one of {list(self.splits)}, but got {split=}.")


class GraphFeed(DataFeed):
    """One graph, full batch (see the module docstring).

    Args:
        data: A torch_geometric ``Data`` with ``x``, ``edge_index``, ``y`` and
            ``train_mask``/``val_mask``/``test_mask``, or a dataset holding one.
    """

    splits = ("train", "valid", "test")
    #: Adam as the GNN supernet was tuned with
    defaults = OptimSettings("adam", 0.005, 0.0, 5e-4, None)
    _MASKS = {"train": "train_mask", "valid": "val_mask", "test": "test_mask"}

    def __init__(self, data: Any) -> None:
        self.data = data if hasattr(data, "edge_index") else data[0]

    def to(self, device: torch.device) -> GraphFeed:
        """The feed with its graph on ``device``."""
        return GraphFeed(self.data.to(device))

    def _mask(self, split: str) -> torch.Tensor:
        self._check_split(split)
        return getattr(self.data, self._MASKS[split])

    def batch(self, split: str, step: int, seed: int) -> Batch:
        """The whole graph; the loss reads ``split``'s nodes (``step`` and ``seed`` are unused)."""
        d = self.data
        return Batch((d.x, d.edge_index), d.y, self._mask(split))

    @torch.no_grad()
    def evaluate(self, logits: Logits, split: str) -> tuple[float, float]:
        """``(accuracy %, mean cross-entropy)`` of the model ``logits`` on ``split``'s nodes."""
        mask, d = self._mask(split), self.data
        out = logits((d.x, d.edge_index))
        correct = float((out.argmax(dim=1)[mask] == d.y[mask]).sum())
        acc = 100.0 * correct / max(int(mask.sum()), 1)
        return acc, float(F.cross_entropy(out[mask], d.y[mask]))

    def proxy_batch(self, seed: int) -> Any:
        """The graph itself, as the proxies take it."""
        return self.data


def _positive_int(name: str, v: Any) -> int:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{name} must be a positive int, but got {name}={v!r}.")
    return int(v)


def check_images(name: str, data: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``data`` as ``(images [n, C, H, W] float, labels [n] int64)``, checked.

    Raises:
        ValueError: Not a pair of such tensors (the message names what is wrong).
    """
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{name} must be a tuple (images, labels), but got {type(data).__name__}.")
    x, y = data
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ValueError(
            f"{name} must hold two tensors, got {type(x).__name__}, {type(y).__name__}."
        )
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(
            f"{name} images must be a float tensor [n, channels, H, W], but got "
            f"shape={list(x.shape)}, dtype={x.dtype}."
        )
    if y.dim() != 1 or y.dtype != torch.long or len(y) != len(x):
        raise ValueError(
            f"{name} labels must be an int64 tensor [n] matching the {len(x)} images, but got "
            f"shape={list(y.shape)}, dtype={y.dtype}."
        )
    if len(x) < 2:
        raise ValueError(f"{name} needs at least 2 examples (BatchNorm), got {len(x)}.")
    if int(y.min()) < 0:
        raise ValueError(f"{name} labels must be >= 0, got min label {int(y.min())}.")
    return x, y


class ImageFeed(DataFeed):
    """In-memory images in minibatches (see the module docstring); no augmentation is applied
    (augment the tensors beforehand).

    Args:
        train: ``(images [n, C_in, H, W] float, labels [n] int64)`` for the weight steps.
        valid: The same for evaluation (and DARTS's architecture steps).
        batch_size: Minibatch size (at most the split's size is used). (default: ``64``)

    Raises:
        ValueError: A bad batch size or data tensor (the message names it).
    """

    splits = ("train", "valid")
    #: SGD as NAS-Bench-201's search code (constant learning rate)
    defaults = OptimSettings("sgd", 0.025, 0.9, 3e-4, 5.0)

    def __init__(self, train: Any, valid: Any, *, batch_size: int = 64) -> None:
        self.batch_size = _positive_int("batch_size", batch_size)
        self.train, self.valid = check_images("train", train), check_images("valid", valid)
        self.data = (self.train, self.valid)
        self._perm: dict[str, tuple[int, int, torch.Tensor]] = {}

    @property
    def num_classes(self) -> int:
        """``1 +`` the largest label of both splits."""
        return max(int(self.train[1].max()), int(self.valid[1].max())) + 1

    def to(self, device: torch.device) -> ImageFeed:
        """The feed with its images and labels on ``device``."""
        moved = [(x.to(device), y.to(device)) for x, y in self.data]
        return ImageFeed(*moved, batch_size=self.batch_size)

    def check(self, supernet: Any) -> None:
        """Raise ``ValueError`` when the images' channels or the labels do not fit ``supernet``."""
        for name, (x, _) in zip(self.splits, self.data):
            if x.shape[1] != supernet.in_channels:
                raise ValueError(
                    f"{name} images have {x.shape[1]} channels, the supernet expects "
                    f"in_channels={supernet.in_channels}."
                )
        if self.num_classes > supernet.num_classes:
            raise ValueError(
                f"labels go up to {self.num_classes - 1}, the supernet has "
                f"num_classes={supernet.num_classes}."
            )

    def batch(self, split: str, step: int, seed: int) -> Batch:
        """Minibatch ``step`` of ``split``: epoch ``e``'s permutation is seeded by
        ``(seed, e, split)``, so the batch depends on ``(seed, step)`` only."""
        self._check_split(split)
        x, y = self.train if split == "train" else self.valid
        n = len(x)
        bs = min(self.batch_size, n)
        epoch, k = divmod(step, n // bs)
        cached = self._perm.get(split)
        if cached is None or cached[:2] != (seed, epoch):
            rng = np.random.default_rng([seed, epoch, 3 if split == "train" else 4])
            cached = (seed, epoch, torch.as_tensor(rng.permutation(n), device=x.device))
            self._perm[split] = cached
        idx = cached[2][k * bs : (k + 1) * bs]
        return Batch((x[idx],), y[idx])

    @torch.no_grad()
    def evaluate(self, logits: Logits, split: str) -> tuple[float, float]:
        """``(accuracy %, mean cross-entropy)`` of the model ``logits`` over ``split``."""
        self._check_split(split)
        x, y = self.train if split == "train" else self.valid
        correct, loss = 0, 0.0
        n_chunks = max(1, len(x) // self.batch_size)
        for idx in torch.arange(len(x), device=x.device).tensor_split(n_chunks):
            out = logits((x[idx],))
            correct += int((out.argmax(dim=1) == y[idx]).sum())
            loss += float(F.cross_entropy(out, y[idx], reduction="sum"))
        return 100.0 * correct / len(x), loss / len(x)

    def proxy_batch(self, seed: int) -> Any:
        """``(images, labels)`` of the first training minibatch for ``seed``."""
        batch = self.batch("train", 0, seed)
        return batch.inputs[0], batch.target


def as_feed(data: Any) -> DataFeed:
    """``data`` as a feed: a :class:`DataFeed` as is, a graph (or a dataset of one) as a
    :class:`GraphFeed`, ``((x_train, y_train), (x_valid, y_valid))`` as an :class:`ImageFeed`.

    Raises:
        ValueError: None of these.
    """
    if isinstance(data, DataFeed):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], (tuple, list)):
        return ImageFeed(*data)
    if hasattr(data, "edge_index") or (
        hasattr(data, "__getitem__") and hasattr(data[0], "edge_index")
    ):
        return GraphFeed(data)
    raise ValueError(
        "data must be a DataFeed, a torch_geometric graph (or a dataset of one), or "
        f"((x_train, y_train), (x_valid, y_valid)) image tensors; got {type(data).__name__}."
    )
