"""The NAS-Bench-Graph network of one cell (Qin et al., NeurIPS 2022 D&B,
https://arxiv.org/abs/2206.09166), built as the benchmark trained it.

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

NAS-Bench-Graph trained one representative per equivalence class of cells (the fixed point of its
canonicalisation, which e.g. turns parallel ``skip`` leaves of the input into a ``skip`` chain).
:func:`build_gnn` therefore builds the representative decoded from the architecture's benchmark
key by default, so equivalent cells give the same network and the parameter count equals the
benchmark's ``params`` column (one BatchNorm is created per computing node, as the benchmark does,
even where the node reads the raw features and does not use it).

Accuracies are in percent, as in :mod:`nas_meta_tune.benchmarks.nasbench_graph`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

import torch
import torch.nn.functional as F
from torch import nn

from .._imports import require
from ..exceptions import InvalidArchitectureError, UnknownNameError
from ..spaces.nasbench_graph import GNN_OPS, LINK_PATTERNS

if TYPE_CHECKING:
    from ..spaces._base import Architecture
    from ..spaces.nasbench_graph import Spec as CellSpec

__all__ = [
    "GAT_HEADS",
    "NASBenchGraphNet",
    "build_gnn",
    "canonical_cell",
    "cell_of",
    "cell_string",
    "check_sizes",
    "make_op",
]

GAT_HEADS = 4


def check_sizes(hidden: int, dropout: float, num_pre: int, num_post: int) -> None:
    """Raise ``ValueError`` for sizes no NAS-Bench-Graph network can have."""
    if hidden < GAT_HEADS or hidden % GAT_HEADS:
        raise ValueError(
            f"hidden must be a positive multiple of {GAT_HEADS} (GAT heads), but got {hidden=}."
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), but got {dropout=}.")
    if num_pre < 0 or num_post < 0:
        raise ValueError(f"num_pre and num_post must be >= 0, but got {num_pre=}, {num_post=}.")


# ------------------------------------------------------------------------------ architecture
def cell_of(
    arch: Architecture | str | tuple[Sequence[int], Sequence[str]],
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """``(links, ops)`` of ``arch`` (an architecture, its string or ``(links, ops)``), validated.

    Raises:
        InvalidArchitectureError: not a ``nasbench_graph`` cell.
    """
    from ..spaces import get_space

    space = get_space("nasbench_graph")
    if isinstance(arch, tuple) and len(arch) == 2 and not isinstance(arch[0], str):
        arch = space.from_string(cell_string(arch))  # validates
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
    links, ops = cast("CellSpec", arch.spec)
    return tuple(links), tuple(ops)


def canonical_cell(
    arch: Architecture | str | tuple[Sequence[int], Sequence[str]],
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """``(links, ops)`` of the representative NAS-Bench-Graph trained for ``arch``'s class.

    The benchmark key is ``link_index * 10**4 + ops`` written in base 10 over the operation
    indices (``nas_bench_graph.Arch.hash_arch``) of the canonical cell, so it decodes back to it.
    """
    Arch = require("nas_bench_graph.architecture", feature="NAS-Bench-Graph architectures").Arch  # noqa: N806 - a class, imported lazily

    links, ops = cell_of(arch)
    key = int(Arch(list(links), list(ops)).valid_hash())
    digits = []
    for _ in range(4):
        key, d = divmod(key, len(GNN_OPS) + 1)
        digits.append(d)
    return LINK_PATTERNS[key], tuple(GNN_OPS[d] for d in reversed(digits))


def make_op(name: str, in_channels: int, out_channels: int) -> nn.Module:
    """The module of operation ``name``, called as ``op(x, edge_index)``."""
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
        return GraphFree(nn.Linear(in_channels, out_channels))
    if name == "skip":
        return GraphFree(nn.Identity())
    raise UnknownNameError("GNN operation", name, GNN_OPS)


class GraphFree(nn.Module):
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

    if isinstance(op, (GraphFree, gnn.GCNConv, gnn.GATConv)):
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
        check_sizes(hidden, dropout, num_pre, num_post)
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
            make_op(op, widths[src], hidden) for src, op in zip(self.links, self.op_names)
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
        """Re-initialise every submodule that has a ``reset_parameters`` method."""
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()  # type: ignore[operator]  # torch types Module.__getattr__ as Tensor | Module

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
    links, ops = canonical_cell(arch) if canonical else cell_of(arch)
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


def cell_string(cell: tuple) -> str:
    """The official string of ``(links, ops)``."""
    links, ops = cell
    return ",".join(map(str, links)) + "|" + ",".join(ops)
