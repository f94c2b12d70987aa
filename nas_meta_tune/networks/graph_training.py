"""Train NAS-Bench-Graph architectures for real on Planetoid citation graphs (Cora, CiteSeer).

This reproduces the training protocol of NAS-Bench-Graph (Qin et al., NeurIPS 2022 D&B,
https://arxiv.org/abs/2206.09166) so that the per-epoch curves it records can be compared with the
benchmark's tables. The network is :class:`~nas_meta_tune.networks.graph_net.NASBenchGraphNet`
(its module docstring describes the wiring); the graphs come from
:func:`~nas_meta_tune.networks.planetoid.load_planetoid`.

* **Training.** Full-batch, cross-entropy on the public Planetoid split (140/500/1000 labelled
  nodes on Cora, 120/500/1000 on CiteSeer), the per-dataset hyper-parameters of the paper's
  protocol (:data:`PROTOCOLS`), one optimiser step per epoch, then an evaluation pass in eval mode
  that gives the epoch's metrics (the benchmark's ``dur`` entries are recorded the same way).

Accuracies are in percent, as in :mod:`nas_meta_tune.benchmarks.nasbench_graph`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from .._device import resolve_device, seeded_rng
from .._logging import get_logger
from ..exceptions import UnknownNameError
from .graph_net import NASBenchGraphNet, canonical_cell, cell_of, cell_string, check_sizes
from .planetoid import load_planetoid, planetoid_name

if TYPE_CHECKING:
    from torch_geometric.data import InMemoryDataset

    from ..spaces._base import Architecture

__all__ = ["GNNProtocol", "PROTOCOLS", "train_gnn"]

_log = get_logger(__name__)


@dataclass(frozen=True)
class GNNProtocol:
    """The training hyper-parameters NAS-Bench-Graph fixed for one dataset.

    Args:
        hidden: Width of every computing node (``dim``).
        dropout: Dropout on the input features and before every operation that reads a hidden state.
        optimizer: ``"sgd"`` (plain, no momentum) or ``"adam"``.
        lr: Learning rate.
        weight_decay: L2 penalty of the optimiser.
        epochs: Training epochs (one full-batch step each).
        num_pre: Linear pre-processing layers before the cell.
        num_post: Linear post-processing layers after the cell.
    """

    hidden: int
    dropout: float
    optimizer: str
    lr: float
    weight_decay: float
    epochs: int
    num_pre: int = 0
    num_post: int = 1

    def __post_init__(self) -> None:
        check_sizes(self.hidden, self.dropout, self.num_pre, self.num_post)
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', but got {self.optimizer=}.")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError(
                f"need lr > 0 and weight_decay >= 0, but got {self.lr=}, {self.weight_decay=}."
            )
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, but got {self.epochs=}.")


#: NAS-Bench-Graph's per-dataset hyper-parameters (the hyper-parameter table of the paper's
#: appendix). The structural ones (hidden, num_pre, num_post) reproduce the benchmark's ``params``
#: column exactly; dropout, optimiser, lr, weight decay and epochs are the table's values.
PROTOCOLS: dict[str, GNNProtocol] = {
    "cora": GNNProtocol(256, 0.7, "sgd", 0.1, 5e-4, 400, num_pre=0, num_post=1),
    "citeseer": GNNProtocol(256, 0.7, "sgd", 0.2, 5e-4, 400, num_pre=0, num_post=1),
    "pubmed": GNNProtocol(128, 0.3, "sgd", 0.2, 5e-4, 500, num_pre=0, num_post=0),
}


def _accuracy(pred: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> float:
    return 100.0 * float((pred[mask] == y[mask]).sum()) / max(int(mask.sum()), 1)


def train_gnn(
    arch: Architecture | str | tuple[Sequence[int], Sequence[str]],
    dataset: str | InMemoryDataset,
    *,
    epochs: int | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    callback: Callable[[int, dict[str, float]], bool | None] | None = None,
    protocol: GNNProtocol | str | None = None,
    data_root: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    sparse_features: bool | None = None,
) -> dict[str, Any]:
    """Train ``arch`` on a Planetoid graph with NAS-Bench-Graph's protocol; per-epoch metrics.

    Each epoch is one full-batch optimiser step (dropout on) followed by one evaluation pass
    (eval mode) that gives the epoch's losses and accuracies. With a seed the run is reproducible
    on CPU (bit-identical with the same torch build and thread count); torch's global random
    state is saved and restored around the run.

    Args:
        arch: A ``nasbench_graph`` architecture, its string or ``(links, ops)``.
        dataset: ``"cora"``, ``"citeseer"`` (``"pubmed"`` if its raw files are present), or a
            loaded Planetoid dataset (:func:`load_planetoid`).
        epochs: Training epochs (default: the protocol's, 400 on Cora and CiteSeer).
        seed: Seeds the initialisation and the dropout masks.
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available, else CPU).
        callback: Called after every epoch as ``callback(epoch, metrics)`` (``epoch`` counts from 1;
            ``metrics`` holds this epoch's ``train_loss``, ``train_acc``, ``valid_loss``,
            ``valid_acc``, ``test_loss``, ``test_acc``, ``epoch_time``); returning ``True`` stops
            training (how pruners and schedulers act).
        protocol: A :class:`GNNProtocol` or a key of :data:`PROTOCOLS` (default: the dataset's).
        data_root: Passed to :func:`load_planetoid` when ``dataset`` is a name.
        cache_dir: Passed to :func:`load_planetoid` when ``dataset`` is a name.
        sparse_features: Feed the node features as a sparse matrix (see
            :meth:`NASBenchGraphNet.forward`: the same network and loss, 1.5-3x faster per epoch on
            CPU for bag-of-words features). Default: when at most 10% of them are non-zero
            (Cora 1.3%, CiteSeer 0.9%). The dense and sparse paths draw different input-dropout
            masks from the same seed, so their curves differ like two seeds' do.

    Returns:
        A dict with one list entry per completed epoch for ``train_loss``, ``train_acc``,
        ``valid_loss``, ``valid_acc``, ``test_loss``, ``test_acc`` (accuracies in percent) and
        ``epoch_time`` (seconds, step + evaluation), and the scalars ``epochs`` (completed),
        ``stopped_early``, ``final_valid_acc``, ``best_valid_acc``, ``best_epoch`` (1-based),
        ``test_acc_at_best_valid`` (the benchmark's ``perf``), ``params``, ``arch`` (as given),
        ``trained_arch`` (the canonical cell built), ``dataset``, ``seed``, ``device``,
        ``sparse_features``.
    """
    dataset, ds_name, protocol = _setup(dataset, protocol, epochs, data_root, cache_dir)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, but got {seed!r}.")
    dev = resolve_device(device)
    links, ops = canonical_cell(arch)
    data = dataset[0].to(dev)
    x = data.x
    if sparse_features is None:
        sparse_features = bool(x.numel()) and float((x != 0).float().mean()) <= 0.1
    if sparse_features:
        x = x.to_sparse()
    masks = {"train": data.train_mask, "valid": data.val_mask, "test": data.test_mask}
    with seeded_rng(seed, dev):
        model = _network(links, ops, dataset, protocol).to(dev)
        graph = (x, data.edge_index, data.y)
        hist, stopped = _fit(model, protocol, graph, masks, callback, dev, (arch, ds_name))
    arch_str = arch if isinstance(arch, str) else cell_string(cell_of(arch))
    return {
        **hist,
        **_best(hist, stopped),
        "params": sum(p.numel() for p in model.parameters()),
        "arch": arch_str,
        "trained_arch": cell_string((links, ops)),
        "dataset": ds_name,
        "seed": seed,
        "device": str(dev),
        "sparse_features": bool(sparse_features),
    }


def _network(links: Any, ops: Any, dataset: Any, protocol: GNNProtocol) -> NASBenchGraphNet:
    return NASBenchGraphNet(
        links,
        ops,
        dataset.num_features,
        dataset.num_classes,
        hidden=protocol.hidden,
        dropout=protocol.dropout,
        num_pre=protocol.num_pre,
        num_post=protocol.num_post,
    )


def _setup(
    dataset: str | InMemoryDataset,
    protocol: GNNProtocol | str | None,
    epochs: int | None,
    data_root: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str] | None,
) -> tuple[Any, str, GNNProtocol]:
    """The loaded dataset, its name and the protocol to train with."""
    if isinstance(dataset, str):
        ds_name = dataset.lower()
        planetoid_name(ds_name)
        dataset = load_planetoid(ds_name, data_root, cache_dir=cache_dir)
    else:
        ds_name = str(getattr(dataset, "name", "")).lower()
    if protocol is None:
        if ds_name not in PROTOCOLS:
            raise ValueError(
                f"no NAS-Bench-Graph protocol for dataset {ds_name!r}; pass protocol= one of "
                f"{sorted(PROTOCOLS)} or a GNNProtocol."
            )
        protocol = PROTOCOLS[ds_name]
    elif isinstance(protocol, str):
        if protocol not in PROTOCOLS:
            raise UnknownNameError("GNN protocol", protocol, tuple(PROTOCOLS))
        protocol = PROTOCOLS[protocol]
    if epochs is not None:
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, but got {epochs=}.")
        protocol = replace(protocol, epochs=int(epochs))
    return dataset, ds_name, protocol


def _fit(
    model: torch.nn.Module,
    protocol: GNNProtocol,
    graph: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    masks: dict[str, torch.Tensor],
    callback: Callable[[int, dict[str, float]], bool | None] | None,
    dev: torch.device,
    label: tuple[Any, str],
) -> tuple[dict[str, list[float]], bool]:
    """The epochs of :func:`train_gnn`: their metrics, and whether the callback stopped early."""
    x, edge_index, y = graph
    keys = ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc")
    hist: dict[str, list[float]] = {k: [] for k in (*keys, "epoch_time")}
    opt_cls = torch.optim.SGD if protocol.optimizer == "sgd" else torch.optim.Adam
    optimizer = opt_cls(model.parameters(), lr=protocol.lr, weight_decay=protocol.weight_decay)
    for epoch in range(1, protocol.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x, edge_index)[masks["train"]], y[masks["train"]])
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(x, edge_index)
            pred = logits.argmax(dim=1)
            metrics: dict[str, float] = {}
            for split, mask in masks.items():
                metrics[f"{split}_loss"] = float(F.cross_entropy(logits[mask], y[mask]))
                metrics[f"{split}_acc"] = _accuracy(pred, y, mask)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        metrics["epoch_time"] = time.perf_counter() - t0
        for k in hist:
            hist[k].append(metrics[k])
        if not math.isfinite(metrics["train_loss"]):
            _log.warning("%s diverged at epoch %d on %s", label[0], epoch, label[1])
        if callback is not None and callback(epoch, dict(metrics)):
            return hist, epoch < protocol.epochs
    return hist, False


def _best(hist: dict[str, list[float]], stopped: bool) -> dict[str, Any]:
    valid = hist["valid_acc"]
    best = max(range(len(valid)), key=lambda i: (valid[i], -i))  # first epoch of the maximum
    return {
        "epochs": len(valid),
        "stopped_early": stopped,
        "final_valid_acc": valid[-1],
        "best_valid_acc": valid[best],
        "best_epoch": best + 1,
        "test_acc_at_best_valid": hist["test_acc"][best],
    }
