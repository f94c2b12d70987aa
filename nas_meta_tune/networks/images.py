"""Image data for the NAS-Bench-201 supernet that works offline.

NAS-Bench-201's own datasets (CIFAR-10/100, ImageNet16-120) cannot be downloaded here; users who
have them pass their own tensors to :func:`~nas_meta_tune.oneshot.build_nb201_supernet`. For
examples and tests that must run anywhere, :func:`load_digits` gives real images that ship inside
scikit-learn (a core dependency): the UCI optical-recognition handwritten digits, 1,797 grey-scale
8x8 images of 10 classes (Alpaydin & Kaynak, 1998). They are real data, not a NAS benchmark: no
architecture of NAS-Bench-201 has a recorded accuracy on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .._imports import require

__all__ = ["IMAGE_DATASETS", "load_digits", "load_image_dataset"]

Split = tuple[torch.Tensor, torch.Tensor]


def load_digits(*, valid_fraction: float = 0.25, seed: int = 0) -> tuple[Split, Split]:
    """scikit-learn's handwritten digits as ``((x_train, y_train), (x_valid, y_valid))``.

    Images are ``float32 [n, 1, 8, 8]`` scaled from the 0..16 grey levels to [0, 1] and
    standardised with the training split's mean and standard deviation; labels ``int64``. The
    split is stratified by class and seeded.

    Args:
        valid_fraction: Share of each class held out for validation, in (0, 1).
        seed: Seeds the split.
    """
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in (0, 1), but got {valid_fraction=}.")
    _sk_digits = require("sklearn.datasets", feature="scikit-learn models").load_digits

    bunch = _sk_digits()
    x = np.asarray(bunch.images, dtype=np.float32)[:, None] / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    rng = np.random.default_rng(seed)
    valid = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        valid[idx[: max(1, round(valid_fraction * idx.size))]] = True
    mean, std = float(x[~valid].mean()), float(x[~valid].std())
    x = (x - mean) / std
    tr, va = np.flatnonzero(~valid), np.flatnonzero(valid)
    tr, va = rng.permutation(tr), rng.permutation(va)
    return (
        (torch.from_numpy(x[tr]), torch.from_numpy(y[tr])),
        (torch.from_numpy(x[va]), torch.from_numpy(y[va])),
    )


#: name -> loader of the offline image datasets
IMAGE_DATASETS: dict[str, Callable[..., tuple[Split, Split]]] = {"digits": load_digits}


def load_image_dataset(data: Any, *, seed: int = 0) -> tuple[Split, Split]:
    """Resolve ``data`` to ``((x_train, y_train), (x_valid, y_valid))`` tensors.

    ``data`` is a name of :data:`IMAGE_DATASETS` (``"digits"``), a callable returning the two
    splits (how a Ray Tune config carries e.g. a CIFAR-10 loader), or the two splits themselves.
    """
    if isinstance(data, str):
        if data not in IMAGE_DATASETS:
            raise ValueError(
                f"unknown image dataset {data!r}; use one of {sorted(IMAGE_DATASETS)}, a callable "
                "returning ((x_train, y_train), (x_valid, y_valid)), or those tensors."
            )
        return IMAGE_DATASETS[data](seed=seed)
    if callable(data):
        data = data()
    try:
        (xt, yt), (xv, yv) = data
    except (TypeError, ValueError):
        raise ValueError(
            "image data must be ((x_train, y_train), (x_valid, y_valid)); got "
            f"{type(data).__name__}."
        ) from None
    return (torch.as_tensor(xt), torch.as_tensor(yt)), (torch.as_tensor(xv), torch.as_tensor(yv))
