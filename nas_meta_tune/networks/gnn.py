"""Train NAS-Bench-Graph architectures for real on Planetoid citation graphs (Cora, CiteSeer).

This reproduces the training protocol of NAS-Bench-Graph (Qin et al., NeurIPS 2022 D&B,
https://arxiv.org/abs/2206.09166) so that the per-epoch curves it records can be compared with the
benchmark's tables:

* **Macro structure.** Input dropout, ``num_pre`` linear pre-processing layers, one cell, a linear
  layer on the concatenated cell outputs and ``num_post`` linear post-processing layers (ELU
  between stacked pre/post layers).
* **Cell.** Computing node ``i`` (1..4) applies its operation to the state of node ``links[i-1]``
  (0 is the cell input). An input that is not the raw features first goes through
  BatchNorm -> ReLU -> dropout. States that are still the raw features (the cell input when there
  is no pre-processing, and ``skip`` chains from it) keep the input width; every other state has
  ``hidden`` channels. The cell output is ReLU(concat(leaf states)) -> Linear, where the leaves are
  the nodes no other node reads.
* **Operations** (torch_geometric): ``gat`` GATConv with 4 heads of ``hidden / 4`` channels
  (concatenated), ``gcn`` GCNConv, ``gin`` GINConv over one Linear layer, ``cheb`` ChebConv with
  K=2, ``sage`` SAGEConv, ``arma`` ARMAConv (1 stack, 1 layer), ``graph`` GraphConv, ``fc`` Linear
  (ignores the graph), ``skip`` identity.
* **Training.** Full-batch, cross-entropy on the public Planetoid split (140/500/1000 labelled
  nodes on Cora, 120/500/1000 on CiteSeer), the per-dataset hyper-parameters of the paper's
  protocol (:data:`PROTOCOLS`), one optimiser step per epoch, then an evaluation pass in eval mode
  that gives the epoch's metrics (the benchmark's ``dur`` entries are recorded the same way).

NAS-Bench-Graph trained one representative per equivalence class of cells (the fixed point of its
canonicalisation, which e.g. turns parallel ``skip`` leaves of the input into a ``skip`` chain).
:func:`build_gnn` therefore builds the representative decoded from the architecture's benchmark
key by default, so equivalent cells give the same network and the parameter count equals the
benchmark's ``params`` column (one BatchNorm is created per computing node, as the benchmark does,
even where the node reads the raw features and does not use it).

Accuracies are in percent, as in :mod:`nas_meta_tune.benchmarks.nasbench_graph`.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from .._device import resolve_device, seeded_rng
from .._imports import require
from .._logging import get_logger
from ..benchmarks._data import resolve_data_file
from ..exceptions import InvalidArchitectureError, UnknownNameError
from ..spaces.nasbench_graph import GNN_OPS, LINK_PATTERNS

if TYPE_CHECKING:
    from torch_geometric.data import InMemoryDataset

    from ..spaces._base import Architecture

__all__ = [
    "GNNProtocol",
    "PROTOCOLS",
    "PLANETOID_NAMES",
    "NASBenchGraphNet",
    "CACHE_ENV_VAR",
    "canonical_cell",
    "build_gnn",
    "load_planetoid",
    "train_gnn",
]

_log = get_logger(__name__)

#: environment variable naming the writable folder Planetoid processes its copies in
CACHE_ENV_VAR = "NAS_META_TUNE_CACHE"
#: dataset name (lower case, as the benchmark's tasks) -> torch_geometric's Planetoid name
PLANETOID_NAMES: dict[str, str] = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
_RAW_PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
GAT_HEADS = 4


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
        _check_sizes(self.hidden, self.dropout, self.num_pre, self.num_post)
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', but got {self.optimizer=}.")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError(
                f"need lr > 0 and weight_decay >= 0, but got {self.lr=}, {self.weight_decay=}."
            )
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, but got {self.epochs=}.")


def _check_sizes(hidden: int, dropout: float, num_pre: int, num_post: int) -> None:
    if hidden < GAT_HEADS or hidden % GAT_HEADS:
        raise ValueError(
            f"hidden must be a positive multiple of {GAT_HEADS} (GAT heads), but got {hidden=}."
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), but got {dropout=}.")
    if num_pre < 0 or num_post < 0:
        raise ValueError(f"num_pre and num_post must be >= 0, but got {num_pre=}, {num_post=}.")


#: NAS-Bench-Graph's per-dataset hyper-parameters (the hyper-parameter table of the paper's
#: appendix). The structural ones (hidden, num_pre, num_post) reproduce the benchmark's ``params``
#: column exactly; dropout, optimiser, lr, weight decay and epochs are the table's values.
PROTOCOLS: dict[str, GNNProtocol] = {
    "cora": GNNProtocol(256, 0.7, "sgd", 0.1, 5e-4, 400, num_pre=0, num_post=1),
    "citeseer": GNNProtocol(256, 0.7, "sgd", 0.2, 5e-4, 400, num_pre=0, num_post=1),
    "pubmed": GNNProtocol(128, 0.3, "sgd", 0.2, 5e-4, 500, num_pre=0, num_post=0),
}


# ------------------------------------------------------------------------------ architecture
def _cell_of(
    arch: Architecture | str | tuple[Sequence[int], Sequence[str]],
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    from ..spaces import get_space

    space = get_space("nasbench_graph")
    if isinstance(arch, tuple) and len(arch) == 2 and not isinstance(arch[0], str):
        arch = space.from_string(_to_string(arch))  # validates
    elif isinstance(arch, str):
        arch = space.from_string(arch)
    if getattr(arch, "space", None) is None or arch.space.name not in (
        "nasbench_graph",
        "nasbench_graph_proteins",
    ):
        raise InvalidArchitectureError(
            f"expected a nasbench_graph architecture, its string or (links, ops), got {arch!r}.",
            space="nasbench_graph",
        )
    links, ops = arch.spec
    return tuple(links), tuple(ops)


def canonical_cell(
    arch: Architecture | str | tuple[Sequence[int], Sequence[str]],
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """``(links, ops)`` of the representative NAS-Bench-Graph trained for ``arch``'s class.

    The benchmark key is ``link_index * 10**4 + ops`` written in base 10 over the operation
    indices (``nas_bench_graph.Arch.hash_arch``) of the canonical cell, so it decodes back to it.
    """
    Arch = require("nas_bench_graph.architecture", feature="NAS-Bench-Graph architectures").Arch

    links, ops = _cell_of(arch)
    key = int(Arch(list(links), list(ops)).valid_hash())
    digits = []
    for _ in range(4):
        key, d = divmod(key, len(GNN_OPS) + 1)
        digits.append(d)
    return LINK_PATTERNS[key], tuple(GNN_OPS[d] for d in reversed(digits))


def _make_op(name: str, in_channels: int, out_channels: int) -> nn.Module:
    from torch_geometric import nn as gnn

    if name == "gat":
        return gnn.GATConv(in_channels, out_channels // GAT_HEADS, heads=GAT_HEADS, concat=True)
    if name == "gcn":
        return gnn.GCNConv(in_channels, out_channels)
    if name == "gin":
        return gnn.GINConv(torch.nn.Linear(in_channels, out_channels))
    if name == "cheb":
        return gnn.ChebConv(in_channels, out_channels, K=2)
    if name == "sage":
        return gnn.SAGEConv(in_channels, out_channels)
    if name == "arma":
        return gnn.ARMAConv(in_channels, out_channels)
    if name == "graph":
        return gnn.GraphConv(in_channels, out_channels)
    if name == "fc":
        return _GraphFree(nn.Linear(in_channels, out_channels))
    if name == "skip":
        return _GraphFree(nn.Identity())
    raise UnknownNameError("GNN operation", name, GNN_OPS)


class _GraphFree(nn.Module):
    """Wrap a node-wise module so it takes ``(x, edge_index)`` like a graph convolution."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.module(x)


def _sparse_map(x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Apply an elementwise ``fn`` with ``fn(0) == 0`` (dropout, ReLU) to a sparse COO tensor."""
    x = x.coalesce()
    return torch.sparse_coo_tensor(
        x.indices(), fn(x.values()), x.shape, is_coalesced=True, check_invariants=False
    )


def _sparse_input_op(op: nn.Module, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """``op(x.to_dense(), edge_index)`` for a sparse ``x``, without forming dense products.

    Every operation of the space is linear in its input up to its first weight matrix, and a sum
    or mean over neighbours commutes with right-multiplication by a weight: ``lin(P x) = P
    lin(x)`` up to the bias. So the weight is applied to the sparse matrix first (a sparse-dense
    product) and the module's own ``propagate`` (its normalisation and aggregation) runs on the
    narrow result. Configurations this does not cover fall back to densifying ``x``.
    """
    from torch_geometric import nn as gnn
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    if isinstance(op, (_GraphFree, gnn.GCNConv, gnn.GATConv)):
        return op(x, edge_index)  # a linear layer first, which takes sparse input
    linear_aggr = getattr(op, "aggr", None) in ("add", "sum", "mean")
    if isinstance(op, gnn.GINConv) and isinstance(op.nn, nn.Linear) and linear_aggr:
        z = F.linear(x, op.nn.weight)
        out = op.propagate(edge_index, x=(z, z), size=None) + (1 + op.eps) * z
        return out if op.nn.bias is None else out + op.nn.bias
    if isinstance(op, gnn.SAGEConv) and linear_aggr and not (op.project or op.normalize):
        z = F.linear(x, op.lin_l.weight)
        out = op.propagate(edge_index, x=(z, z), size=None)
        if op.lin_l.bias is not None:
            out = out + op.lin_l.bias
        return out + op.lin_r(x) if op.root_weight else out
    if isinstance(op, gnn.GraphConv) and linear_aggr:
        z = F.linear(x, op.lin_rel.weight)
        out = op.propagate(edge_index, x=(z, z), edge_weight=None, size=None)
        if op.lin_rel.bias is not None:
            out = out + op.lin_rel.bias
        return out + op.lin_root(x)
    if isinstance(op, gnn.ChebConv) and len(op.lins) == 2:
        ei, norm = op.__norm__(
            edge_index, x.size(0), None, op.normalization, None, dtype=x.dtype, batch=None
        )
        out = op.lins[0](x) + op.propagate(ei, x=op.lins[1](x), norm=norm)
        return out if op.bias is None else out + op.bias
    if (
        isinstance(op, gnn.ARMAConv)
        and op.num_stacks == 1
        and op.num_layers == 1
        and not (op.training and op.dropout > 0)
    ):
        ei, ew = gcn_norm(
            edge_index, None, x.size(0), add_self_loops=False, flow=op.flow, dtype=x.dtype
        )
        out = op.propagate(ei, x=torch.sparse.mm(x, op.init_weight[0]).unsqueeze(0), edge_weight=ew)
        out = out + torch.sparse.mm(x, op.root_weight[0, 0]).unsqueeze(0)
        if op.bias is not None:
            out = out + op.bias[0]
        if op.act is not None:
            out = op.act(out)
        return out.mean(dim=-3)
    return op(x.to_dense(), edge_index)


class NASBenchGraphNet(nn.Module):
    """The NAS-Bench-Graph network of one cell (see the module docstring for the wiring).

    Shapes:
        input: node features ``[N, in_channels]``, ``edge_index`` ``[2, E]``;
        output: logits ``[N, out_channels]``.
    """

    def __init__(
        self,
        links: Sequence[int],
        ops: Sequence[str],
        in_channels: int,
        out_channels: int,
        *,
        hidden: int,
        dropout: float,
        num_pre: int = 0,
        num_post: int = 1,
    ) -> None:
        super().__init__()
        _check_sizes(hidden, dropout, num_pre, num_post)
        self.links, self.op_names = tuple(links), tuple(ops)
        self.dropout = float(dropout)
        self.pre = nn.ModuleList(
            nn.Linear(in_channels if i == 0 else hidden, hidden) for i in range(num_pre)
        )
        cell_in = in_channels if num_pre == 0 else hidden
        # raw[i]: state i still holds the cell input's features (no BN/ReLU/dropout before use)
        raw = [num_pre == 0] + [False] * len(self.links)
        for i, (src, op) in enumerate(zip(self.links, self.op_names), start=1):
            raw[i] = raw[src] and op == "skip"
        self._raw = tuple(raw)
        widths = [cell_in] + [cell_in if raw[i] else hidden for i in range(1, len(raw))]
        self.ops = nn.ModuleList(
            _make_op(op, widths[src], hidden) for src, op in zip(self.links, self.op_names)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in self.links)
        self._leaves = tuple(i for i in range(1, len(raw)) if i not in set(self.links))
        cell_out = hidden if num_post else out_channels
        self.cell_out = nn.Linear(sum(widths[i] for i in self._leaves), cell_out)
        self.post = nn.ModuleList(
            nn.Linear(hidden, out_channels if i == num_post - 1 else hidden)
            for i in range(num_post)
        )

    def reset_parameters(self) -> None:
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Logits of every node; ``x`` may be dense or a sparse COO tensor (see below).

        A sparse ``x`` (``x.to_sparse()``; bag-of-words features are ~1% non-zero) gives the same
        function, computed without densifying it: the operations that read the raw features
        apply their first linear map to the sparse matrix and move the graph propagation after
        it (propagation and right-multiplication commute), so no ``[N, in_channels]`` dense
        product is formed. Outputs and gradients equal the dense path's up to float rounding;
        the input dropout draws its mask only over the non-zeros, so with the same seed the
        random stream (not its distribution) differs from the dense path's.
        """
        if x.is_sparse:
            x = _sparse_map(x, lambda v: F.dropout(v, p=self.dropout, training=self.training))
        else:
            x = F.dropout(x, p=self.dropout, training=self.training)
        for i, lin in enumerate(self.pre):
            x = lin(x)
            if i < len(self.pre) - 1:
                x = F.elu(x)
        states = [x]
        for src, op, norm in zip(self.links, self.ops, self.norms):
            h = states[src]
            if not self._raw[src]:
                h = F.dropout(F.relu(norm(h)), p=self.dropout, training=self.training)
            states.append(_sparse_input_op(op, h, edge_index) if h.is_sparse else op(h, edge_index))
        leaves = [states[i] for i in self._leaves]
        if any(t.is_sparse for t in leaves):
            # cell_out(relu(cat(leaves))) as a sum of per-leaf products (cat cannot mix layouts)
            x, start = self.cell_out.bias, 0
            for t in leaves:
                w = self.cell_out.weight[:, start : start + t.size(1)]
                t = _sparse_map(t, torch.relu) if t.is_sparse else F.relu(t)
                x, start = x + F.linear(t, w), start + t.size(1)
        else:
            x = self.cell_out(F.relu(torch.cat(leaves, dim=1)))
        for i, lin in enumerate(self.post):
            x = lin(x)
            if i < len(self.post) - 1:
                x = F.elu(x)
        return x

    def __repr__(self) -> str:
        cell = ",".join(map(str, self.links)) + "|" + ",".join(self.op_names)
        return f"{type(self).__name__}({cell!r})"


def build_gnn(
    arch: Architecture | str | tuple[Sequence[int], Sequence[str]],
    in_channels: int,
    out_channels: int,
    *,
    hidden: int = 256,
    dropout: float = 0.7,
    num_pre: int = 0,
    num_post: int = 1,
    canonical: bool = True,
) -> torch.nn.Module:
    """The NAS-Bench-Graph network of ``arch`` (defaults: the Cora/CiteSeer protocol).

    Args:
        arch: A ``nasbench_graph`` architecture, its official string (``"0,0,1,2|gcn,gat,skip,fc"``)
            or ``(links, ops)``.
        in_channels: Node feature width.
        out_channels: Number of classes.
        hidden: Width of the computing nodes (a multiple of 4: GAT uses 4 heads).
        dropout: Dropout probability (input features and hidden states before each operation).
        num_pre: Linear pre-processing layers.
        num_post: Linear post-processing layers.
        canonical: Build the representative NAS-Bench-Graph trained for ``arch``'s class
            (:func:`canonical_cell`) rather than the cell exactly as written.

    Returns:
        A ``torch.nn.Module`` called as ``model(x, edge_index)`` that returns logits
        ``[num_nodes, out_channels]``. Its parameters are initialised from torch's global
        generator; :func:`train_gnn` seeds it.

    Example::

        model = build_gnn("0,0,1,2|gcn,gat,skip,fc", 1433, 7)
    """
    if in_channels < 1 or out_channels < 1:
        raise ValueError(
            f"in_channels and out_channels must be >= 1, but got {in_channels=}, {out_channels=}."
        )
    links, ops = canonical_cell(arch) if canonical else _cell_of(arch)
    return NASBenchGraphNet(
        links,
        ops,
        in_channels,
        out_channels,
        hidden=hidden,
        dropout=dropout,
        num_pre=num_pre,
        num_post=num_post,
    )


# ------------------------------------------------------------------------------------- data
def _default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV_VAR)
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "nas_meta_tune"
    return base / "planetoid"


def _planetoid_name(name: str) -> str:
    key = name.lower()
    if key not in PLANETOID_NAMES:
        raise UnknownNameError("Planetoid dataset", name, tuple(PLANETOID_NAMES))
    return PLANETOID_NAMES[key]


def load_planetoid(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> InMemoryDataset:
    """Load a Planetoid citation graph (public split) from local raw files; never downloads.

    The raw files are read from ``<data root>/planetoid/<Name>/raw/`` (the data root is ``root``,
    else ``$NAS_META_TUNE_DATA``, else ``shared/data`` beside the source checkout, as for the
    benchmarks). torch_geometric writes a ``processed/`` folder next to them, so on first use they
    are copied to a writable cache (``cache_dir``, else ``$NAS_META_TUNE_CACHE/planetoid``, else
    ``~/.cache/nas_meta_tune/planetoid``) and processed there; the data root is never written to.
    Concurrent first uses (worker processes) are safe: each prepares a private copy and the first
    to finish publishes it with an atomic rename.

    Args:
        name: ``"cora"``, ``"citeseer"`` or ``"pubmed"`` (any case).
        root: Data root holding ``planetoid/``.
        cache_dir: Writable folder for the processed copy.

    Returns:
        torch_geometric's ``Planetoid`` dataset (``dataset[0]`` is the graph, with
        ``train_mask``/``val_mask``/``test_mask``).

    Raises:
        FileNotFoundError: (:class:`~nas_meta_tune.exceptions.DataNotFoundError`) a raw file is
            missing; the message names the path.
        UnknownNameError: not a Planetoid dataset.
    """
    from torch_geometric.datasets import Planetoid

    pname = _planetoid_name(name)
    raw_src = resolve_data_file(f"planetoid/{pname}/raw", root)
    files = [raw_src / f"ind.{pname.lower()}.{part}" for part in _RAW_PARTS]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(
            f"Planetoid raw file(s) missing: {', '.join(missing)}. Nothing is downloaded: put the "
            f"raw files (as torch_geometric.datasets.Planetoid downloads them) in {raw_src}."
        )

    class _OfflinePlanetoid(Planetoid):
        def download(self) -> None:  # pragma: no cover - raw files are copied first
            raise FileNotFoundError(f"Planetoid raw files not found under {self.raw_dir}.")

    cache = Path(cache_dir).expanduser() if cache_dir is not None else _default_cache_dir()
    target = cache / pname
    if not (target / "processed" / "data.pt").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{pname}-", dir=cache))
        try:
            raw_copy = staging / pname / "raw"
            raw_copy.mkdir(parents=True)
            for f in files:  # contents only: the data root's files may be read-only
                shutil.copyfile(f, raw_copy / f.name)
            _OfflinePlanetoid(str(staging), pname)  # processes into staging/<Name>/processed
            if target.exists():
                shutil.rmtree(target)  # an incomplete copy (no processed data)
            os.rename(staging / pname, target)
            _log.info("prepared %s in %s", pname, target)
        except OSError:
            if not (target / "processed" / "data.pt").is_file():
                raise  # not a lost race
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _OfflinePlanetoid(str(cache), pname)


# --------------------------------------------------------------------------------- training
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
        data_root, cache_dir: Passed to :func:`load_planetoid` when ``dataset`` is a name.
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
    if isinstance(dataset, str):
        ds_name = dataset.lower()
        _planetoid_name(ds_name)
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
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, but got {seed!r}.")

    dev = resolve_device(device)
    links, ops = canonical_cell(arch)
    data = dataset[0].to(dev)
    x, edge_index, y = data.x, data.edge_index, data.y
    if sparse_features is None:
        sparse_features = bool(x.numel()) and float((x != 0).float().mean()) <= 0.1
    if sparse_features:
        x = x.to_sparse()
    masks = {"train": data.train_mask, "valid": data.val_mask, "test": data.test_mask}
    keys = ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc")
    hist: dict[str, list[float]] = {k: [] for k in (*keys, "epoch_time")}
    stopped = False

    with seeded_rng(seed, dev):
        model = NASBenchGraphNet(
            links,
            ops,
            dataset.num_features,
            dataset.num_classes,
            hidden=protocol.hidden,
            dropout=protocol.dropout,
            num_pre=protocol.num_pre,
            num_post=protocol.num_post,
        ).to(dev)
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
                _log.warning("%s diverged at epoch %d on %s", arch, epoch, ds_name)
            if callback is not None and callback(epoch, dict(metrics)):
                stopped = epoch < protocol.epochs
                break

    valid = hist["valid_acc"]
    best = max(range(len(valid)), key=lambda i: (valid[i], -i))  # first epoch of the maximum
    arch_str = arch if isinstance(arch, str) else _to_string(_cell_of(arch))
    return {
        **hist,
        "epochs": len(valid),
        "stopped_early": stopped,
        "final_valid_acc": valid[-1],
        "best_valid_acc": valid[best],
        "best_epoch": best + 1,
        "test_acc_at_best_valid": hist["test_acc"][best],
        "params": sum(p.numel() for p in model.parameters()),
        "arch": arch_str,
        "trained_arch": _to_string((links, ops)),
        "dataset": ds_name,
        "seed": seed,
        "device": str(dev),
        "sparse_features": bool(sparse_features),
    }


def _to_string(cell: tuple) -> str:
    links, ops = cell
    return ",".join(map(str, links)) + "|" + ",".join(ops)
