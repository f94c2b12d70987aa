"""A weight-sharing supernet of the NAS-Bench-Graph space and its SPOS training.

One-shot NAS trains a single over-parametrised network (the *supernet*) whose sub-networks are the
architectures of the space; every architecture then inherits its weights instead of being trained
(Guo et al., "Single Path One-Shot NAS with Uniform Sampling", https://arxiv.org/abs/1904.00420).

:class:`GNNSupernet` holds, for each of the 4 computing nodes of a NAS-Bench-Graph cell, one
candidate module per operation (the weights every architecture that picks that operation at that
node shares), one BatchNorm per node, the pre-processing layers and the cell-output/post layers.
``supernet(x, edge_index, arch)`` runs only the path of ``arch``: its links and its 4 operations.

Differences from the stand-alone network of :func:`~nas_meta_tune.oneshot.build_gnn`, so that every
candidate has the same shape whatever it reads:

* ``num_pre >= 1`` (default 1): the cell input is always a ``hidden``-wide state, so every
  operation maps ``hidden -> hidden`` and every input goes through BatchNorm -> ReLU -> dropout.
* The cell-output layer is one ``Linear(4 * hidden, .)`` whose column block ``j`` reads node
  ``j``; an architecture uses the blocks of its leaf nodes only (the stand-alone network's
  ``Linear`` over the concatenated leaves, with the weights of non-leaves left out).
* BatchNorm normalises with the statistics of the current full batch in training *and* in eval
  mode (``track_running_stats=False``). Training here is full-batch on one graph, so this is what
  re-calibrating the statistics for each sub-network would give, at no cost.
* The cell is run as written, not as its NAS-Bench-Graph canonical representative.

:class:`SPOSTrainer` trains a supernet with SPOS (one uniformly sampled architecture per step, one
full-batch optimiser step on its path) and scores architectures by their inherited-weight
validation accuracy.

>>> trainer = build_supernet("cora", hidden=64, seed=0)  # doctest: +SKIP
>>> losses = trainer.train(100)  # doctest: +SKIP
>>> trainer.rank(["0,0,1,2|gcn,gat,skip,fc", "0,1,2,3|fc,fc,fc,fc"])  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._device import resolve_device, seeded_rng
from ..exceptions import InvalidArchitectureError
from ..networks.gnn import _accuracy, _cell_of, _check_sizes, _make_op, load_planetoid
from ..spaces.nasbench_graph import GNN_OPS, LINK_PATTERNS

if TYPE_CHECKING:
    from ..spaces._base import Architecture

__all__ = ["DARTSTrainer", "GNNSupernet", "SPOSTrainer", "build_supernet"]

NUM_NODES = 4
ArchLike = Any  # Architecture | str | (links, ops)


def _normalise_choices(
    op_choices: Sequence[Sequence[str]] | None, vocab: tuple[str, ...]
) -> tuple[tuple[str, ...], ...]:
    if op_choices is None:
        return (vocab,) * NUM_NODES
    if len(op_choices) != NUM_NODES:
        raise ValueError(f"op_choices needs one op set per node ({NUM_NODES}), got {op_choices!r}.")
    out = []
    for pos, ops in enumerate(op_choices):
        if isinstance(ops, str):
            raise TypeError(f"op_choices[{pos}] must be a sequence of op names, got {ops!r}.")
        unknown = [o for o in ops if o not in vocab]
        if unknown or not ops:
            raise ValueError(
                f"op_choices[{pos}] must be a non-empty subset of {list(vocab)}, got {list(ops)}."
            )
        out.append(tuple(o for o in vocab if o in set(ops)))  # vocabulary order
    if all(ops == ("skip",) for ops in out):
        raise ValueError("op_choices allow only the all-'skip' cell, which the space excludes.")
    return tuple(out)


def path_scores(trainer: Any, archs: Iterable[ArchLike], score: str = "acc") -> np.ndarray:
    """Inherited-weight scores of ``archs`` from any supernet trainer with ``evaluate(arch)`` and
    ``loss(arch)`` (higher = better): validation accuracy (``"acc"``) or negative validation loss
    (``"loss"``)."""
    if score not in ("acc", "loss"):
        raise ValueError(f"score must be 'acc' or 'loss', but got {score=}.")
    fn = trainer.evaluate if score == "acc" else (lambda a: -trainer.loss(a))
    return np.asarray([fn(a) for a in archs], dtype=float)


def _seed_int(*entropy: int) -> int:
    return int(np.random.SeedSequence([int(e) for e in entropy]).generate_state(1)[0])


class GNNSupernet(nn.Module):
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

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        hidden: int = 64,
        dropout: float = 0.5,
        num_pre: int = 1,
        num_post: int = 1,
        op_choices: Sequence[Sequence[str]] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        _check_sizes(hidden, dropout, num_pre, num_post)
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
        self.op_choices = _normalise_choices(op_choices, GNN_OPS)
        self.seed = int(seed)
        self._nz_cache: tuple[Any, tuple[torch.Tensor, ...]] | None = None
        with seeded_rng(self.seed):
            self.pre = nn.ModuleList(
                nn.Linear(in_channels if i == 0 else hidden, hidden) for i in range(num_pre)
            )
            self.candidates = nn.ModuleList(
                nn.ModuleDict({op: _make_op(op, hidden, hidden) for op in ops})
                for ops in self.op_choices
            )
            self.norms = nn.ModuleList(
                nn.BatchNorm1d(hidden, track_running_stats=False) for _ in range(NUM_NODES)
            )
            self.cell_out = nn.Linear(NUM_NODES * hidden, hidden if num_post else out_channels)
            self.post = nn.ModuleList(
                nn.Linear(hidden, out_channels if i == num_post - 1 else hidden)
                for i in range(num_post)
            )

    # ------------------------------------------------------------------------- architectures
    def cell(self, arch: ArchLike) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """``(links, ops)`` of ``arch``, checked to be a path of this (sub-)supernet."""
        links, ops = _cell_of(arch)
        for pos, op in enumerate(ops):
            if op not in self.op_choices[pos]:
                raise InvalidArchitectureError(
                    f"operation {op!r} at node {pos + 1} is not in this supernet's choices "
                    f"{list(self.op_choices[pos])}.",
                    space="nasbench_graph",
                )
        return links, ops

    def contains(self, arch: ArchLike) -> bool:
        """Whether ``arch`` is a path of this (sub-)supernet."""
        links, ops = _cell_of(arch)
        return all(op in self.op_choices[pos] for pos, op in enumerate(ops))

    def sample_arch(self, rng: np.random.Generator | int | None = None) -> Architecture:
        """One architecture drawn uniformly over the (restricted) parametrisation: a link pattern
        and an allowed operation per node, all-``skip`` cells rejected."""
        from ..spaces import get_space

        rng = np.random.default_rng(rng)
        space = get_space("nasbench_graph")
        while True:
            links = LINK_PATTERNS[int(rng.integers(len(LINK_PATTERNS)))]
            ops = [c[int(rng.integers(len(c)))] for c in self.op_choices]
            if any(op != "skip" for op in ops):
                params = {"links": "".join(map(str, links))}
                params |= {f"op_{i}": op for i, op in enumerate(ops, start=1)}
                return space.from_params(params)

    def num_paths(self) -> int:
        """Number of (links, ops) paths, the all-``skip`` cells excluded."""
        n_ops = int(np.prod([len(c) for c in self.op_choices]))
        return len(LINK_PATTERNS) * (n_ops - int(all("skip" in c for c in self.op_choices)))

    def path_parameters(self, arch: ArchLike) -> list[nn.Parameter]:
        """The parameters ``arch``'s path uses (pre/post layers, norms, cell output, its ops)."""
        links, ops = self.cell(arch)
        mods: list[nn.Module] = [*self.pre, *self.norms, self.cell_out, *self.post]
        mods += [self.candidates[pos][op] for pos, op in enumerate(ops)]
        return [p for m in mods for p in m.parameters()]

    def restrict(
        self, op_choices: Sequence[Sequence[str]], *, inherit: bool = True, seed: int | None = None
    ) -> GNNSupernet:
        """A sub-supernet whose nodes may use only ``op_choices`` (each a subset of this one's).

        With ``inherit`` its weights are a copy of this supernet's; otherwise it is freshly
        initialised from ``seed`` (default: this supernet's seed).
        """
        choices = _normalise_choices(op_choices, GNN_OPS)
        for pos, (sub, mine) in enumerate(zip(choices, self.op_choices)):
            if not set(sub) <= set(mine):
                raise ValueError(
                    f"op_choices[{pos}]={list(sub)} is not a subset of this supernet's "
                    f"{list(mine)}."
                )
        if not inherit:
            return GNNSupernet(
                self.in_channels,
                self.out_channels,
                hidden=self.hidden,
                dropout=self.dropout,
                num_pre=self.num_pre,
                num_post=self.num_post,
                op_choices=choices,
                seed=self.seed if seed is None else seed,
            ).to(next(self.parameters()).device)
        child = copy.deepcopy(self)
        for pos, ops in enumerate(choices):
            for op in list(child.candidates[pos].keys()):
                if op not in ops:
                    del child.candidates[pos][op]
        child.op_choices = choices
        if seed is not None:
            child.seed = int(seed)
        return child

    # ------------------------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, arch: ArchLike) -> torch.Tensor:
        links, ops = self.cell(arch)
        x = self._input_dropout(x)
        for i, lin in enumerate(self.pre):
            x = lin(x)
            if i < len(self.pre) - 1:
                x = F.elu(x)
        states = [x]
        for pos, (src, op) in enumerate(zip(links, ops)):
            h = F.dropout(F.relu(self.norms[pos](states[src])), self.dropout, self.training)
            states.append(self.candidates[pos][op](h, edge_index))
        used = set(links)
        w, b, hd = self.cell_out.weight, self.cell_out.bias, self.hidden
        out = b
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
            states.append(
                sum(ow[k] * self.candidates[pos][op](h, edge_index) for k, op in enumerate(ops))
            )
        wt, b, hd = self.cell_out.weight, self.cell_out.bias, self.hidden
        out = b
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

    def extra_repr(self) -> str:
        choices = "|".join(",".join(c) for c in self.op_choices)
        return f"hidden={self.hidden}, op_choices={choices!r}"


class _Path(nn.Module):
    """One architecture of a supernet as a plain ``model(x, edge_index)`` (shared weights)."""

    def __init__(self, supernet: GNNSupernet, arch: ArchLike) -> None:
        super().__init__()
        self.supernet = supernet
        self.arch = supernet.cell(arch)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.supernet(x, edge_index, self.arch)


class SPOSTrainer:
    """Single-path one-shot (SPOS) training of a :class:`GNNSupernet` on one graph, full batch.

    Every :meth:`step` draws one architecture uniformly from the supernet's paths
    (:meth:`GNNSupernet.sample_arch`) and takes one optimiser step on the training loss of its
    path; the candidates it does not use get no gradient (``None``) and are not touched by the
    optimiser (nor by weight decay). Step ``t`` is seeded from ``(seed, t)``: two trainers with the
    same supernet and seed follow the same sequence (bit-identical on CPU with a fixed thread
    count); torch's global random state is restored after every step.

    Args:
        supernet: The supernet (moved to ``device``).
        data: A torch_geometric ``Data`` graph with ``x``, ``edge_index``, ``y`` and
            ``train_mask``/``val_mask``/``test_mask``, or a Planetoid dataset.
        optimizer: ``"adam"`` or ``"sgd"``. (default: ``"adam"``)
        lr: Learning rate. (default: ``0.005``)
        weight_decay: L2 penalty. (default: ``5e-4``)
        seed: Seeds the architecture draws and dropout masks.
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available, else CPU).
    """

    def __init__(
        self,
        supernet: GNNSupernet,
        data: Any,
        *,
        optimizer: str = "adam",
        lr: float = 0.005,
        weight_decay: float = 5e-4,
        seed: int = 0,
        device: str | torch.device | None = None,
    ) -> None:
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', but got {optimizer=}.")
        if lr <= 0 or weight_decay < 0:
            raise ValueError(f"need lr > 0 and weight_decay >= 0, got {lr=}, {weight_decay=}.")
        if not hasattr(data, "edge_index"):
            data = data[0]  # a dataset
        self.device = resolve_device(device)
        self.data = data.to(self.device)
        self.supernet = supernet.to(self.device)
        self.optimizer_name, self.lr, self.weight_decay = optimizer, float(lr), float(weight_decay)
        self.seed = int(seed)
        self.steps_done = 0
        self.last_arch: Architecture | None = None
        self._opt = self._make_optimizer()

    def _make_optimizer(self) -> torch.optim.Optimizer:
        cls = torch.optim.Adam if self.optimizer_name == "adam" else torch.optim.SGD
        return cls(self.supernet.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    # ------------------------------------------------------------------------------ training
    @contextlib.contextmanager
    def _step_rng(self) -> Iterator[None]:
        """Torch's random state seeded from ``(seed, step)`` for one step, restored after it."""
        with seeded_rng(_seed_int(self.seed, self.steps_done, 1), self.device):
            yield

    def step(self, arch: ArchLike | None = None) -> float:
        """One SPOS step (on ``arch``'s path if given, else a uniformly drawn one); its loss."""
        d = self.data
        rng = np.random.default_rng([self.seed, self.steps_done])
        with self._step_rng():
            if arch is None:
                arch = self.supernet.sample_arch(rng)
            self.supernet.train()
            self._opt.zero_grad(set_to_none=True)
            out = self.supernet(d.x, d.edge_index, arch)
            loss = F.cross_entropy(out[d.train_mask], d.y[d.train_mask])
            loss.backward()
            self._opt.step()
        self.steps_done += 1
        self.last_arch = arch
        return float(loss.detach())

    def train(self, steps: int) -> list[float]:
        """``steps`` SPOS steps (each one full-batch epoch of one path); their training losses."""
        if steps < 0:
            raise ValueError(f"steps must be >= 0, but got {steps=}.")
        return [self.step() for _ in range(int(steps))]

    # ---------------------------------------------------------------------------- evaluation
    @torch.no_grad()
    def _logits(self, arch: ArchLike) -> torch.Tensor:
        self.supernet.eval()
        return self.supernet(self.data.x, self.data.edge_index, arch)

    def _mask(self, split: str) -> torch.Tensor:
        names = {"train": "train_mask", "valid": "val_mask", "test": "test_mask"}
        if split not in names:
            raise ValueError(f"split must be one of {list(names)}, but got {split=}.")
        return getattr(self.data, names[split])

    def evaluate(self, arch: ArchLike, split: str = "valid") -> float:
        """Accuracy (percent) of ``arch`` with its inherited weights, eval mode."""
        mask = self._mask(split)
        return _accuracy(self._logits(arch).argmax(dim=1), self.data.y, mask)

    def loss(self, arch: ArchLike, split: str = "valid") -> float:
        """Cross-entropy of ``arch`` with its inherited weights, eval mode."""
        mask = self._mask(split)
        return float(F.cross_entropy(self._logits(arch)[mask], self.data.y[mask]))

    def rank(self, archs: Iterable[ArchLike], score: str = "acc") -> np.ndarray:
        """Supernet scores of ``archs`` (higher = better): validation accuracy (``"acc"``) or
        negative validation loss (``"loss"``)."""
        return path_scores(self, archs, score)

    def path_model(self, arch: ArchLike) -> nn.Module:
        """``arch``'s sub-network as ``model(x, edge_index)`` sharing the supernet's weights."""
        return _Path(self.supernet, arch)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training exactly: supernet weights, optimiser state and
        the step counter (each step's path and dropout are seeded from ``(seed, step)``)."""
        # copies: the optimiser's state_dict holds its live tensors, and a trainer loading them
        # would share (and step) them with this one
        return copy.deepcopy(
            {
                "supernet": self.supernet.state_dict(),
                "optimizer": self._opt.state_dict(),
                "steps_done": self.steps_done,
                "seed": self.seed,
            }
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "seed" in state and int(state["seed"]) != self.seed:
            raise ValueError(
                f"checkpoint of a trainer with seed {state['seed']}, but this one has seed "
                f"{self.seed}: its paths and dropout would follow another random stream."
            )
        self.supernet.load_state_dict(state["supernet"])
        # a copy: torch keeps the caller's tensors when they already fit, and two trainers loading
        # one dict would then share (and step) the same optimiser buffers
        self._opt.load_state_dict(copy.deepcopy(state["optimizer"]))
        self.steps_done = int(state["steps_done"])

    def spawn(
        self,
        op_choices: Sequence[Sequence[str]],
        *,
        inherit: bool = True,
        seed: int | None = None,
    ) -> SPOSTrainer:
        """A trainer of the sub-supernet restricted to ``op_choices`` (same data and optimiser
        settings, a fresh optimiser); weights copied (``inherit``) or re-initialised."""
        seed = self.seed if seed is None else int(seed)
        sub = self.supernet.restrict(op_choices, inherit=inherit, seed=seed)
        return SPOSTrainer(
            sub,
            self.data,
            optimizer=self.optimizer_name,
            lr=self.lr,
            weight_decay=self.weight_decay,
            seed=seed,
            device=self.device,
        )


class DARTSTrainer(SPOSTrainer):
    """First-order DARTS (Liu et al., "DARTS: Differentiable Architecture Search",
    https://arxiv.org/abs/1806.09055) on a :class:`GNNSupernet`, full batch.

    The architecture parameters are :attr:`link_logits` (one logit per link pattern) and
    :attr:`op_logits` (one vector per node over its candidate operations), exposed by
    :meth:`arch_parameters`. Every :meth:`step` first takes one step of the architecture
    optimiser (Adam) on the validation loss of the relaxed cell
    (:meth:`GNNSupernet.forward_mixed`), the weights held fixed (the first-order approximation),
    then one step of the weight optimiser on its training loss. :meth:`derive` gives the most
    likely architecture, :meth:`arch_log_prob` scores any architecture by its log-probability
    under the learned distribution, and :meth:`rank` scores by that (``"alpha"``) or, as
    :class:`SPOSTrainer`, by the inherited-weight accuracy of the architecture's own path.

    Args:
        supernet, data, optimizer, lr, weight_decay, seed, device: As :class:`SPOSTrainer`.
        arch_lr: Step size of the architecture optimiser. (default: ``3e-4``, as DARTS)
        arch_weight_decay: Its L2 penalty. (default: ``1e-3``, as DARTS)
    """

    def __init__(
        self,
        supernet: GNNSupernet,
        data: Any,
        *,
        optimizer: str = "adam",
        lr: float = 0.005,
        weight_decay: float = 5e-4,
        seed: int = 0,
        device: str | torch.device | None = None,
        arch_lr: float = 3e-4,
        arch_weight_decay: float = 1e-3,
    ) -> None:
        super().__init__(
            supernet,
            data,
            optimizer=optimizer,
            lr=lr,
            weight_decay=weight_decay,
            seed=seed,
            device=device,
        )
        if arch_lr <= 0 or arch_weight_decay < 0:
            raise ValueError(
                f"need arch_lr > 0 and arch_weight_decay >= 0, got {arch_lr=}, {arch_weight_decay=}."
            )
        self.arch_lr, self.arch_weight_decay = float(arch_lr), float(arch_weight_decay)
        dev = self.device
        # DARTS initialises the architecture logits at 1e-3 * N(0, 1)
        gen = torch.Generator().manual_seed(_seed_int(self.seed, 0, 2))
        self.link_logits = nn.Parameter(
            1e-3 * torch.randn(len(LINK_PATTERNS), generator=gen).to(dev)
        )
        self.op_logits = nn.ParameterList(
            nn.Parameter(1e-3 * torch.randn(len(ops), generator=gen).to(dev))
            for ops in self.supernet.op_choices
        )
        self._arch_opt = torch.optim.Adam(
            self.arch_parameters(),
            lr=self.arch_lr,
            betas=(0.5, 0.999),
            weight_decay=self.arch_weight_decay,
        )

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters: the link-pattern logits, then each node's op logits."""
        return [self.link_logits, *self.op_logits]

    def step(self, arch: ArchLike | None = None) -> float:
        """One architecture step (validation loss) and one weight step (training loss) of the
        relaxed cell; the training loss. ``arch`` must be ``None`` (DARTS trains the mixture)."""
        if arch is not None:
            raise ValueError(
                "DARTSTrainer trains the relaxed cell; use SPOSTrainer for a given path."
            )
        d = self.data
        with self._step_rng():
            self.supernet.train()
            self._arch_opt.zero_grad(set_to_none=True)
            out = self.supernet.forward_mixed(
                d.x, d.edge_index, self.link_logits, list(self.op_logits)
            )
            F.cross_entropy(out[d.val_mask], d.y[d.val_mask]).backward()
            self._arch_opt.step()
            self._opt.zero_grad(set_to_none=True)
            out = self.supernet.forward_mixed(
                d.x, d.edge_index, self.link_logits.detach(), [a.detach() for a in self.op_logits]
            )
            loss = F.cross_entropy(out[d.train_mask], d.y[d.train_mask])
            loss.backward()
            self._opt.step()
        self.steps_done += 1
        return float(loss.detach())

    @torch.no_grad()
    def arch_log_prob(self, arch: ArchLike) -> float:
        """log P(``arch``) under the learned distribution (link pattern x per-node operations)."""
        links, ops = self.supernet.cell(arch)
        lp = float(torch.log_softmax(self.link_logits, 0)[LINK_PATTERNS.index(tuple(links))])
        for pos, op in enumerate(ops):
            lp += float(
                torch.log_softmax(self.op_logits[pos], 0)[self.supernet.op_choices[pos].index(op)]
            )
        return lp

    @torch.no_grad()
    def derive(self) -> Architecture:
        """The most likely architecture (an all-``skip`` cell is avoided: the node whose best
        non-skip operation loses least takes it)."""
        from ..spaces import get_space

        links = LINK_PATTERNS[int(self.link_logits.argmax())]
        probs = [torch.log_softmax(a, 0) for a in self.op_logits]
        ops = [self.supernet.op_choices[pos][int(p.argmax())] for pos, p in enumerate(probs)]
        if all(op == "skip" for op in ops):
            best = None
            for pos, p in enumerate(probs):
                for k, op in enumerate(self.supernet.op_choices[pos]):
                    if op != "skip":
                        loss = float(p.max() - p[k])
                        if best is None or loss < best[0]:
                            best = (loss, pos, op)
            if best is not None:
                ops[best[1]] = best[2]
        params = {"links": "".join(map(str, links))} | {
            f"op_{i}": op for i, op in enumerate(ops, start=1)
        }
        return get_space("nasbench_graph").from_params(params)

    def rank(self, archs: Iterable[ArchLike], score: str = "alpha") -> np.ndarray:
        """Scores of ``archs`` (higher = better): ``"alpha"`` (log-probability under the learned
        architecture distribution), or ``"acc"`` / ``"loss"`` of the inherited-weight path."""
        if score == "alpha":
            return np.asarray([self.arch_log_prob(a) for a in archs], dtype=float)
        return super().rank(archs, score)

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "arch": [p.detach().clone() for p in self.arch_parameters()],
            "arch_optimizer": copy.deepcopy(self._arch_opt.state_dict()),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        with torch.no_grad():
            for p, v in zip(self.arch_parameters(), state["arch"]):
                p.copy_(v)
        self._arch_opt.load_state_dict(copy.deepcopy(state["arch_optimizer"]))

    def spawn(self, *args: Any, **kwargs: Any) -> SPOSTrainer:
        raise NotImplementedError("few-shot splitting is defined for SPOS sub-supernets.")


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
) -> SPOSTrainer:
    """An untrained :class:`GNNSupernet` of the full ``nasbench_graph`` space on a Planetoid
    graph, wrapped in its :class:`SPOSTrainer` (``strategy="spos"``) or :class:`DARTSTrainer`
    (``strategy="darts"``).

    Args:
        dataset: ``"cora"``, ``"citeseer"``, ``"pubmed"`` or a loaded dataset / ``Data``.
        data_root: Passed to :func:`~nas_meta_tune.oneshot.load_planetoid` for a name.
        arch_lr: The architecture step size of DARTS (ignored by SPOS).
        Others: see :class:`GNNSupernet` and :class:`SPOSTrainer`.
    """
    if strategy not in ("spos", "darts"):
        raise ValueError(f"strategy must be 'spos' or 'darts', but got {strategy=}.")
    if isinstance(dataset, str):
        dataset = load_planetoid(dataset, data_root)
    data = dataset if hasattr(dataset, "edge_index") else dataset[0]
    num_classes = int(getattr(dataset, "num_classes", 0) or int(data.y.max()) + 1)
    net = GNNSupernet(
        data.num_features,
        num_classes,
        hidden=hidden,
        dropout=dropout,
        num_pre=num_pre,
        num_post=num_post,
        seed=seed,
    )
    kw = dict(optimizer=optimizer, lr=lr, weight_decay=weight_decay, seed=seed, device=device)
    if strategy == "darts":
        return DARTSTrainer(net, data, arch_lr=arch_lr, **kw)
    return SPOSTrainer(net, data, **kw)
