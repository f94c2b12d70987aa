"""The graph supernet: a weight-sharing supernet of the NAS-Bench-Graph space.

:class:`GNNSupernet` (a :class:`~nas_meta_tune.oneshot.Supernet`) holds, for each of the 4
computing nodes of a NAS-Bench-Graph cell, one candidate module per operation (the weights every
architecture that picks that operation at that node shares), one BatchNorm per node, the
pre-processing layers and the cell-output/post layers. ``supernet(x, edge_index, arch)`` runs only
the path of ``arch``: its links and its 4 operations; ``supernet.forward_mixed(x, edge_index,
link_logits, op_logits)`` is DARTS's continuous relaxation of the cell.

Differences from the stand-alone network of :func:`~nas_meta_tune.networks.build_gnn`, so that
every candidate has the same shape whatever it reads:

* ``num_pre >= 1`` (default 1): the cell input is always a ``hidden``-wide state, so every
  operation maps ``hidden -> hidden`` and every input goes through BatchNorm -> ReLU -> dropout.
* The cell-output layer is one ``Linear(4 * hidden, .)`` whose column block ``j`` reads node
  ``j``; an architecture uses the blocks of its leaf nodes only (the stand-alone network's
  ``Linear`` over the concatenated leaves, with the weights of non-leaves left out).
* BatchNorm normalises with the statistics of the current full batch in training *and* in eval
  mode (``track_running_stats=False``). Training here is full-batch on one graph, so this is what
  re-calibrating the statistics for each sub-network would give, at no cost.
* The cell is run as written, not as its NAS-Bench-Graph canonical representative.

:func:`build_supernet` loads a Planetoid graph and wraps a supernet in its
:class:`~nas_meta_tune.oneshot.SPOSTrainer` or :class:`~nas_meta_tune.oneshot.DARTSTrainer`.

>>> trainer = build_supernet("cora", hidden=64, seed=0)  # doctest: +SKIP
>>> losses = trainer.train(100)  # doctest: +SKIP
>>> trainer.rank(["0,0,1,2|gcn,gat,skip,fc", "0,1,2,3|fc,fc,fc,fc"])  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._device import seeded_rng
from ..networks.graph_net import cell_of, check_sizes, make_op
from ..networks.planetoid import load_planetoid
from ..spaces.nasbench_graph import GNN_OPS, LINK_PATTERNS
from .darts import DARTSTrainer
from .feeds import GraphFeed
from .spos import SPOSTrainer
from .supernet import ArchLike, OpChoices, Supernet

if TYPE_CHECKING:
    from ..spaces._base import Architecture

__all__ = ["GNNSupernet", "build_supernet"]

NUM_NODES = 4


def _graph_arch(links: Sequence[int], ops: Sequence[str]) -> Architecture:
    from ..spaces import get_space

    params = {"links": "".join(map(str, links))}
    params |= {f"op_{i}": op for i, op in enumerate(ops, start=1)}
    return get_space("nasbench_graph").from_params(params)


class GNNSupernet(Supernet):
    """Weight-sharing supernet of the ``nasbench_graph`` space (see the module docstring).

    Args:
        in_channels: Node feature width.
        out_channels: Number of classes.
        hidden: Width of every state (a multiple of 4: GAT uses 4 heads). (default: ``64``)
        dropout: Dropout on the input features and before every operation. (default: ``0.5``)
        num_pre: Linear pre-processing layers, at least 1. (default: ``1``)
        num_post: Linear post-processing layers. (default: ``1``)
        op_choices: The operations each of the 4 nodes may use (default: all of ``GNN_OPS`` at
            every node); a few-shot sub-supernet restricts some of them.
        seed: Seeds the initialisation (torch's global random state is left untouched).

    Shapes:
        input: ``x`` ``[N, in_channels]``, ``edge_index`` ``[2, E]``, and an architecture;
        output: logits ``[N, out_channels]``.
    """

    space_name = "nasbench_graph"
    vocabulary = GNN_OPS
    num_positions = NUM_NODES
    position_kind = "node"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        hidden: int = 64,
        dropout: float = 0.5,
        num_pre: int = 1,
        num_post: int = 1,
        op_choices: OpChoices | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        check_sizes(hidden, dropout, num_pre, num_post)
        if num_pre < 1:
            raise ValueError(
                f"the supernet needs num_pre >= 1 (every state hidden-wide), got {num_pre=}."
            )
        if in_channels < 1 or out_channels < 1:
            raise ValueError(
                f"in_channels and out_channels must be >= 1, got {in_channels=}, {out_channels=}."
            )
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.hidden, self.dropout = int(hidden), float(dropout)
        self.num_pre, self.num_post = int(num_pre), int(num_post)
        self.op_choices = self.normalise_choices(op_choices)
        self.seed = int(seed)
        self._nz_cache: tuple[Any, tuple[torch.Tensor, ...]] | None = None
        with seeded_rng(self.seed):
            self._build()

    def _build(self) -> None:
        hidden, out_channels = self.hidden, self.out_channels
        self.pre = nn.ModuleList(
            nn.Linear(self.in_channels if i == 0 else hidden, hidden) for i in range(self.num_pre)
        )
        self.candidates = nn.ModuleList(
            nn.ModuleDict({op: make_op(op, hidden, hidden) for op in ops})
            for ops in self.op_choices
        )
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(hidden, track_running_stats=False) for _ in range(NUM_NODES)
        )
        self.cell_out = nn.Linear(NUM_NODES * hidden, hidden if self.num_post else out_channels)
        self.post = nn.ModuleList(
            nn.Linear(hidden, out_channels if i == self.num_post - 1 else hidden)
            for i in range(self.num_post)
        )

    # ------------------------------------------------------------------------- architectures
    @classmethod
    def check_choices(cls, choices: tuple[tuple[str, ...], ...]) -> None:
        """Raise ``ValueError`` when the choices allow only the excluded all-``skip`` cell."""
        if all(ops == ("skip",) for ops in choices):
            raise ValueError("op_choices allow only the all-'skip' cell, which the space excludes.")

    def ops_of(self, arch: ArchLike) -> tuple[str, ...]:
        """The 4 operations of ``arch`` (checked to be a ``nasbench_graph`` cell)."""
        return cell_of(arch)[1]

    def cell(self, arch: ArchLike) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """``(links, ops)`` of ``arch``, checked to be a path of this (sub-)supernet."""
        links, ops = cell_of(arch)
        return links, self.check_ops(ops)

    def with_op(self, arch: ArchLike, pos: int, op: str) -> ArchLike | None:
        """``arch`` with ``op`` at node ``pos``; ``None`` for the excluded all-``skip`` cell."""
        links, ops = cell_of(arch)
        ops = (*ops[:pos], op, *ops[pos + 1 :])
        return None if all(o == "skip" for o in ops) else (links, ops)

    def informative_context(self, ops: Sequence[str], pos: int) -> bool:
        """Not when every other node is ``skip`` while the sub-space lets some act."""
        others = [q for q in range(NUM_NODES) if q != pos]
        can_act = any(set(self.op_choices[q]) - {"skip"} for q in others)
        return not (can_act and all(ops[q] == "skip" for q in others))

    def sample_arch(self, rng: np.random.Generator | int | None = None) -> Architecture:
        """One architecture drawn uniformly over the (restricted) parametrisation: a link pattern
        and an allowed operation per node, all-``skip`` cells rejected."""
        rng = np.random.default_rng(rng)
        while True:
            links = LINK_PATTERNS[int(rng.integers(len(LINK_PATTERNS)))]
            ops = [c[int(rng.integers(len(c)))] for c in self.op_choices]
            if any(op != "skip" for op in ops):
                return _graph_arch(links, ops)

    def num_paths(self) -> int:
        """Number of (links, ops) paths, the all-``skip`` cells excluded."""
        n_ops = int(np.prod([len(c) for c in self.op_choices]))
        return len(LINK_PATTERNS) * (n_ops - int(all("skip" in c for c in self.op_choices)))

    # ------------------------------------------------------------------------------- weights
    def path_parameters(self, arch: ArchLike) -> list[nn.Parameter]:
        """The parameters ``arch``'s path uses (pre/post layers, norms, cell output, its ops)."""
        links, ops = self.cell(arch)
        mods: list[nn.Module] = [*self.pre, *self.norms, self.cell_out, *self.post]
        mods += [cast(nn.ModuleDict, self.candidates[pos])[op] for pos, op in enumerate(ops)]
        return [p for m in mods for p in m.parameters()]

    def candidate_modules(self, pos: int) -> list[nn.ModuleDict]:
        """The ``ModuleDict`` of node ``pos``'s candidates (the supernet has one cell)."""
        return [cast(nn.ModuleDict, self.candidates[pos])]

    def fresh(self, op_choices: tuple[tuple[str, ...], ...], seed: int) -> GNNSupernet:
        """A freshly initialised supernet of the same sizes with ``op_choices``."""
        return GNNSupernet(
            self.in_channels,
            self.out_channels,
            hidden=self.hidden,
            dropout=self.dropout,
            num_pre=self.num_pre,
            num_post=self.num_post,
            op_choices=op_choices,
            seed=seed,
        )

    # ------------------------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, arch: ArchLike) -> torch.Tensor:
        """Logits of every node of the graph, through ``arch``'s links and operations."""
        links, ops = self.cell(arch)
        x = self._input_dropout(x)
        for i, lin in enumerate(self.pre):
            x = lin(x)
            if i < len(self.pre) - 1:
                x = F.elu(x)
        states = [x]
        for pos, (src, op) in enumerate(zip(links, ops)):
            h = F.dropout(F.relu(self.norms[pos](states[src])), self.dropout, self.training)
            states.append(cast(nn.ModuleDict, self.candidates[pos])[op](h, edge_index))
        used = set(links)
        w, b, hd = self.cell_out.weight, self.cell_out.bias, self.hidden
        out: torch.Tensor = b
        for j in range(1, NUM_NODES + 1):
            if j not in used:  # a leaf: its column block of the cell-output layer
                out = out + F.relu(states[j]) @ w[:, (j - 1) * hd : j * hd].T
        x = out
        for i, lin in enumerate(self.post):
            x = lin(x)
            if i < len(self.post) - 1:
                x = F.elu(x)
        return x

    def forward_mixed(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        link_logits: torch.Tensor,
        op_logits: Sequence[torch.Tensor],
    ) -> torch.Tensor:
        """DARTS's continuous relaxation of the cell (Liu et al. 2019): every node's output is the
        softmax(``op_logits[pos]``)-weighted sum of all its candidate operations, and the link
        pattern is a softmax(``link_logits``) distribution over the 9 patterns. Node ``pos`` reads
        the mixture of earlier states weighted by the probability that the pattern routes it
        there, and node ``j`` enters the cell output with the probability that it is a leaf."""
        w = torch.softmax(link_logits, dim=0)
        pattern = self._pattern_tensor(w.device)  # [9, 4]
        x = self._input_dropout(x)
        for i, lin in enumerate(self.pre):
            x = lin(x)
            if i < len(self.pre) - 1:
                x = F.elu(x)
        states = [x]
        for pos in range(NUM_NODES):
            reads = torch.stack([(w * (pattern[:, pos] == j)).sum() for j in range(pos + 1)])
            inp = sum(reads[j] * states[j] for j in range(pos + 1))
            h = F.dropout(F.relu(self.norms[pos](inp)), self.dropout, self.training)
            ow = torch.softmax(op_logits[pos], dim=0)
            ops = self.op_choices[pos]
            # a sum of tensors (typeshed adds the int start 0 to the type)
            mixed = sum(
                ow[k] * cast(nn.ModuleDict, self.candidates[pos])[op](h, edge_index)
                for k, op in enumerate(ops)
            )
            states.append(cast(torch.Tensor, mixed))
        wt, b, hd = self.cell_out.weight, self.cell_out.bias, self.hidden
        out: torch.Tensor = b
        for j in range(1, NUM_NODES + 1):
            leaf = (w * (pattern != j).all(dim=1)).sum()
            out = out + leaf * (F.relu(states[j]) @ wt[:, (j - 1) * hd : j * hd].T)
        x = out
        for i, lin in enumerate(self.post):
            x = lin(x)
            if i < len(self.post) - 1:
                x = F.elu(x)
        return x

    def _pattern_tensor(self, device: torch.device) -> torch.Tensor:
        return torch.tensor(LINK_PATTERNS, dtype=torch.long, device=device)

    def _input_dropout(self, x: torch.Tensor) -> torch.Tensor:
        # Dropout drawn for the non-zero features only (bag-of-words graphs are ~99% zeros):
        # the same distribution as F.dropout, several times cheaper on Cora's dense matrix.
        if not self.training or self.dropout == 0.0:
            return x
        key = (x.data_ptr(), tuple(x.shape), x.device)
        if self._nz_cache is None or self._nz_cache[0] != key:
            self._nz_cache = (key, x.nonzero(as_tuple=True))
        nz = self._nz_cache[1]
        vals = F.dropout(x[nz], p=self.dropout, training=True)
        return torch.zeros_like(x).index_put(nz, vals)

    # ----------------------------------------------------------------------------- DARTS
    def init_arch_parameters(self, generator: torch.Generator) -> list[torch.Tensor]:
        """One logit per link pattern, then one vector per node over its candidates."""
        links = 1e-3 * torch.randn(len(LINK_PATTERNS), generator=generator)
        return [
            links,
            *(1e-3 * torch.randn(len(ops), generator=generator) for ops in self.op_choices),
        ]

    def forward_relaxed(self, inputs: Sequence[Any], arch_params: Sequence[torch.Tensor]) -> Any:
        """:meth:`forward_mixed` under ``arch_params`` (link logits, then each node's op logits)."""
        # inputs holds (x, edge_index), which the checker cannot count
        return self.forward_mixed(*inputs, arch_params[0], list(arch_params[1:]))  # type: ignore[call-arg]

    def arch_weights(self, arch_params: Sequence[torch.Tensor]) -> Any:
        """``(softmax over the link patterns, [softmax over each node's operations])``."""
        return torch.softmax(arch_params[0], 0), [torch.softmax(a, 0) for a in arch_params[1:]]

    def arch_log_prob(self, arch_params: Sequence[torch.Tensor], arch: ArchLike) -> float:
        """Log P(``arch``) (link pattern x per-node operations)."""
        links, ops = self.cell(arch)
        lp = float(torch.log_softmax(arch_params[0], 0)[LINK_PATTERNS.index(tuple(links))])
        for pos, op in enumerate(ops):
            logp = torch.log_softmax(arch_params[1 + pos], 0)
            lp += float(logp[self.op_choices[pos].index(op)])
        return lp

    def derive(self, arch_params: Sequence[torch.Tensor]) -> Architecture:
        """The most likely architecture (an all-``skip`` cell is avoided: the node whose best
        non-skip operation loses least takes it)."""
        links = LINK_PATTERNS[int(arch_params[0].argmax())]
        probs = [torch.log_softmax(a, 0) for a in arch_params[1:]]
        ops = [self.op_choices[pos][int(p.argmax())] for pos, p in enumerate(probs)]
        if all(op == "skip" for op in ops):
            best = None
            for pos, p in enumerate(probs):
                for k, op in enumerate(self.op_choices[pos]):
                    if op != "skip":
                        loss = float(p.max() - p[k])
                        if best is None or loss < best[0]:
                            best = (loss, pos, op)
            if best is not None:
                ops[best[1]] = best[2]
        return _graph_arch(links, ops)

    def extra_repr(self) -> str:
        """The hidden width and the op choices, for ``repr``."""
        return f"hidden={self.hidden}, {super().extra_repr()}"


def build_supernet(
    dataset: str | Any = "cora",
    *,
    hidden: int = 64,
    dropout: float = 0.5,
    num_pre: int = 1,
    num_post: int = 1,
    optimizer: str = "adam",
    lr: float = 0.005,
    weight_decay: float = 5e-4,
    seed: int = 0,
    device: str | torch.device | None = None,
    data_root: str | os.PathLike[str] | None = None,
    strategy: str = "spos",
    arch_lr: float = 3e-4,
    op_choices: OpChoices | None = None,
) -> SPOSTrainer:
    """An untrained :class:`GNNSupernet` of the full ``nasbench_graph`` space on a Planetoid
    graph, wrapped in its :class:`~nas_meta_tune.oneshot.SPOSTrainer` (``strategy="spos"``) or
    :class:`~nas_meta_tune.oneshot.DARTSTrainer` (``strategy="darts"``).

    Args:
        dataset: ``"cora"``, ``"citeseer"``, ``"pubmed"`` or a loaded dataset / ``Data``.
        hidden: Width of every state (see :class:`GNNSupernet`).
        dropout: Dropout on the input features and before every operation.
        num_pre: Linear pre-processing layers, at least 1.
        num_post: Linear post-processing layers.
        optimizer: The weights' optimiser, ``"adam"`` or ``"sgd"``.
        lr: The weights' learning rate.
        weight_decay: The weights' L2 penalty.
        seed: Seeds the initialisation and the trainer.
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available, else CPU).
        data_root: Passed to :func:`~nas_meta_tune.networks.load_planetoid` for a name.
        strategy: ``"spos"`` or ``"darts"``.
        arch_lr: The architecture step size of DARTS (ignored by SPOS).
        op_choices: Restrict the supernet to one split-tree leaf (see :class:`GNNSupernet`).
    """
    if strategy not in ("spos", "darts"):
        raise ValueError(f"strategy must be 'spos' or 'darts', but got {strategy=}.")
    if isinstance(dataset, str):
        dataset = load_planetoid(dataset, data_root)
    data = GraphFeed(dataset).data
    num_classes = int(getattr(dataset, "num_classes", 0) or int(data.y.max()) + 1)
    net = GNNSupernet(
        data.num_features,
        num_classes,
        hidden=hidden,
        dropout=dropout,
        num_pre=num_pre,
        num_post=num_post,
        op_choices=op_choices,
        seed=seed,
    )
    kw: dict[str, Any] = dict(
        optimizer=optimizer, lr=lr, weight_decay=weight_decay, seed=seed, device=device
    )
    if strategy == "darts":
        return DARTSTrainer(net, data, arch_lr=arch_lr, **kw)
    return SPOSTrainer(net, data, **kw)
