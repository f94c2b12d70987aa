"""A weight-sharing supernet of the NAS-Bench-201 space, trained with SPOS or first-order DARTS.

One-shot NAS trains one over-parametrised network (the *supernet*) whose sub-networks are the
architectures of the space; every architecture then inherits its weights instead of being trained
(Guo et al., "Single Path One-Shot NAS with Uniform Sampling", https://arxiv.org/abs/1904.00420;
Liu et al., "DARTS: Differentiable Architecture Search", https://arxiv.org/abs/1806.09055; the
NAS-Bench-201 search protocol of Dong & Yang, https://arxiv.org/abs/2001.00326).

:class:`NB201Supernet` has the macro skeleton of :class:`~nas_meta_tune.oneshot.NB201Net` (stem,
three stages of ``N`` cells with ``C``, ``2C``, ``4C`` channels, the residual reductions, the head)
with the same module names, but every edge of every cell holds one candidate module per operation
it may use (``op_choices``). ``supernet(x, arch)`` runs the single path of ``arch``;
``supernet.forward_mixed(x, weights)`` is DARTS's continuous relaxation.

**BatchNorm.** Inside the searched cells every ``BatchNorm2d`` has ``affine=False,
track_running_stats=False``, exactly what NAS-Bench-201's own search code uses for its weight-sharing
cells (``SearchCell(..., affine=False, track_running_stats=False)``): a learned scale/shift shared by
all paths would be fitted to none of them. The stem, the residual reductions and the head keep
affine BatchNorm as in that code, but also use ``track_running_stats=False`` (NAS-Bench-201's search
code tracks them): running statistics accumulated while thousands of different paths are sampled
describe none of them, so every BatchNorm of the supernet normalises with the statistics of the
current batch in training *and* in eval mode. Evaluating a path on a batch therefore re-calibrates
all its BatchNorm statistics for that path and batch, at no cost (SPOS's "BN re-calibration"), and
no running state has to be saved or restored.

:func:`export_path` copies one path's weights into a stand-alone
``build_nb201(arch, affine=True, track_running_stats=False)`` network (the in-cell BatchNorms get
scale 1 and shift 0, the identity of an affine-free BatchNorm); its outputs equal the supernet's for
that path in train and in eval mode.

:class:`NB201SPOSTrainer` trains on in-memory image tensors with SPOS (one uniformly sampled path
per minibatch, SGD as NAS-Bench-201's search code), :class:`NB201DARTSTrainer` with first-order
DARTS (architecture logits ``alpha`` ``[6, 5]`` learned with Adam on validation batches, weights on
training batches). Both score architectures by their inherited-weight accuracy.

>>> import torch
>>> x, y = torch.randn(64, 3, 8, 8), torch.randint(0, 10, (64,))  # synthetic
>>> trainer = build_nb201_supernet((x, y), (x, y), C=4, N=1, batch_size=16, device="cpu")
>>> losses = trainer.train(2)
>>> scores = trainer.rank(["|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"])
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._device import resolve_device, seeded_rng
from ..exceptions import InvalidArchitectureError
from ..networks.nb201 import NB201_OPS, NB201Net, _make_op, _ops_of, _ResidualReduction
from ..spaces._cell201 import EDGES
from .supernet import _seed_int, path_scores

if TYPE_CHECKING:
    from ..spaces._base import Architecture

__all__ = [
    "NB201DARTSTrainer",
    "NB201SPOSTrainer",
    "NB201Supernet",
    "build_nb201_supernet",
    "export_path",
]

NUM_EDGES = len(EDGES)
ArchLike = Any  # Architecture | str | Sequence[str] (6 op names)
OpChoices = Sequence[Sequence[str]]


def _normalise_choices(op_choices: OpChoices | None) -> tuple[tuple[str, ...], ...]:
    if op_choices is None:
        return (NB201_OPS,) * NUM_EDGES
    if isinstance(op_choices, str) or len(op_choices) != NUM_EDGES:
        raise ValueError(
            f"op_choices needs one op set per edge ({NUM_EDGES}, in the order {list(EDGES)}), "
            f"got {op_choices!r}."
        )
    out = []
    for pos, ops in enumerate(op_choices):
        if isinstance(ops, str):
            raise ValueError(f"op_choices[{pos}] must be a sequence of op names, got {ops!r}.")
        unknown = [o for o in ops if o not in NB201_OPS]
        if unknown or not ops:
            raise ValueError(
                f"op_choices[{pos}] must be a non-empty subset of {list(NB201_OPS)}, "
                f"got {list(ops)}."
            )
        out.append(tuple(o for o in NB201_OPS if o in set(ops)))  # vocabulary order
    return tuple(out)


def _check_positive_int(name: str, v: Any) -> int:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{name} must be a positive int, but got {name}={v!r}.")
    return int(v)


class _SuperCell(nn.Module):
    """One NB201 cell of a supernet: ``edges[e][op]`` is edge ``e``'s candidate for ``op``."""

    def __init__(self, channels: int, op_choices: tuple[tuple[str, ...], ...]) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: _make_op(op, channels, affine=False, track=False) for op in ops})
            for ops in op_choices
        )

    def forward(self, x: torch.Tensor, ops: Sequence[str]) -> torch.Tensor:
        nodes = [x]
        for dst in (1, 2, 3):
            terms = [self.edges[e][ops[e]](nodes[s]) for e, (s, d) in enumerate(EDGES) if d == dst]
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            nodes.append(total)
        return nodes[3]

    def forward_mixed(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for dst in (1, 2, 3):
            terms = [
                weights[e, NB201_OPS.index(op)] * mod(nodes[s])
                for e, (s, d) in enumerate(EDGES)
                if d == dst
                for op, mod in self.edges[e].items()
            ]
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            nodes.append(total)
        return nodes[3]


class NB201Supernet(nn.Module):
    """Weight-sharing supernet of the ``nb201`` space (see the module docstring for BatchNorm).

    Args:
        C: Channels of the first stage (the stages have ``C``, ``2C``, ``4C``). (default: ``16``)
        N: Cells per stage. (default: ``5``)
        num_classes: Outputs of the classifier. (default: ``10``)
        in_channels: Input image channels. (default: ``3``)
        op_choices: The operations each of the 6 edges may use, in the official edge order
            ``(1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2)`` (default: all of ``NB201_OPS`` on
            every edge); a few-shot sub-supernet restricts some of them. Every cell of the network
            shares the same choices (a path is one cell, repeated).
        seed: Seeds the initialisation (torch's global random state is left untouched).

    Raises:
        ValueError: A size is not a positive int or ``op_choices`` is malformed.

    Shapes:
        input ``x`` ``[B, in_channels, H, W]`` (``H``, ``W`` divisible by 4) and an architecture;
        output: logits ``[B, num_classes]``.
    """

    def __init__(
        self,
        *,
        C: int = 16,
        N: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
        op_choices: OpChoices | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.C = _check_positive_int("C", C)
        self.N = _check_positive_int("N", N)
        self.num_classes = _check_positive_int("num_classes", num_classes)
        self.in_channels = _check_positive_int("in_channels", in_channels)
        self.op_choices = _normalise_choices(op_choices)
        self.seed = int(seed)
        with seeded_rng(self.seed):
            self.stem = nn.Sequential(
                nn.Conv2d(self.in_channels, C, 3, padding=1, bias=False),
                nn.BatchNorm2d(C, affine=True, track_running_stats=False),
            )
            blocks: list[nn.Module] = []
            c_prev = C
            for stage, mult in enumerate((1, 2, 4)):
                c = C * mult
                if stage > 0:
                    blocks.append(_ResidualReduction(c_prev, c, affine=True, track=False))
                blocks.extend(_SuperCell(c, self.op_choices) for _ in range(N))
                c_prev = c
            self.cells = nn.ModuleList(blocks)
            self.lastact = nn.Sequential(
                nn.BatchNorm2d(c_prev, affine=True, track_running_stats=False),
                nn.ReLU(inplace=False),
            )
            self.global_pooling = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(c_prev, self.num_classes)

    # ------------------------------------------------------------------------- architectures
    def cell(self, arch: ArchLike) -> tuple[str, ...]:
        """The 6 edge operations of ``arch``, checked to be a path of this (sub-)supernet.

        Raises:
            InvalidArchitectureError: ``arch`` is not an ``nb201`` cell, or uses an operation
                this supernet does not hold on that edge.
        """
        ops = _ops_of(arch)
        for e, op in enumerate(ops):
            if op not in self.op_choices[e]:
                src, dst = EDGES[e]
                raise InvalidArchitectureError(
                    f"operation {op!r} on edge {dst}<-{src} is not in this supernet's choices "
                    f"{list(self.op_choices[e])}.",
                    space="nb201",
                )
        return ops

    def contains(self, arch: ArchLike) -> bool:
        """Whether ``arch`` (a valid ``nb201`` cell, else ``InvalidArchitectureError``) is a path
        of this (sub-)supernet."""
        ops = _ops_of(arch)
        return all(op in self.op_choices[e] for e, op in enumerate(ops))

    def sample_arch(self, rng: np.random.Generator | int | None = None) -> Architecture:
        """One path drawn uniformly: an allowed operation per edge, independently.

        Args:
            rng: A numpy generator (used as is) or a seed.
        """
        from ..spaces import get_space

        rng = np.random.default_rng(rng)
        ops = [c[int(rng.integers(len(c)))] for c in self.op_choices]
        return get_space("nb201").from_params(
            {f"edge_{s}_{d}": op for (s, d), op in zip(EDGES, ops)}
        )

    def num_paths(self) -> int:
        """Number of paths (cells) of this (sub-)supernet: ``15625`` for the full space."""
        return int(np.prod([len(c) for c in self.op_choices]))

    def path_parameters(self, arch: ArchLike) -> list[nn.Parameter]:
        """The parameters ``arch``'s path uses: stem, reductions, head and its candidates."""
        ops = self.cell(arch)
        params = [*self.stem.parameters(), *self.lastact.parameters()]
        params += list(self.classifier.parameters())
        for block in self.cells:
            if isinstance(block, _SuperCell):
                for e, op in enumerate(ops):
                    params += list(block.edges[e][op].parameters())
            else:
                params += list(block.parameters())
        return params

    def restrict(
        self, op_choices: OpChoices, *, inherit: bool = True, seed: int | None = None
    ) -> NB201Supernet:
        """A sub-supernet whose edges may use only ``op_choices`` (each a subset of this one's).

        Args:
            op_choices: One op subset per edge.
            inherit: Copy this supernet's weights (default); otherwise initialise afresh from
                ``seed``.
            seed: The sub-supernet's seed (default: this supernet's).

        Raises:
            ValueError: ``op_choices`` is malformed or not a subset of this supernet's.
        """
        choices = _normalise_choices(op_choices)
        for e, (sub, mine) in enumerate(zip(choices, self.op_choices)):
            if not set(sub) <= set(mine):
                raise ValueError(
                    f"op_choices[{e}]={list(sub)} is not a subset of this supernet's {list(mine)}."
                )
        if not inherit:
            return NB201Supernet(
                C=self.C,
                N=self.N,
                num_classes=self.num_classes,
                in_channels=self.in_channels,
                op_choices=choices,
                seed=self.seed if seed is None else seed,
            ).to(next(self.parameters()).device)
        child = copy.deepcopy(self)
        for block in child.cells:
            if isinstance(block, _SuperCell):
                for e, ops in enumerate(choices):
                    for op in list(block.edges[e].keys()):
                        if op not in ops:
                            del block.edges[e][op]
        child.op_choices = choices
        if seed is not None:
            child.seed = int(seed)
        return child

    # ------------------------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor, arch: ArchLike) -> torch.Tensor:
        """Logits of the single path of ``arch`` (an ``nb201`` architecture, its string or its
        6 edge operations)."""
        ops = self.cell(arch)
        h = self.stem(x)
        for block in self.cells:
            h = block(h, ops) if isinstance(block, _SuperCell) else block(h)
        return self._head(h)

    def forward_mixed(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """DARTS's continuous relaxation: every edge outputs ``sum_o weights[e, o] * op_o(h)``.

        Args:
            x: Images ``[B, in_channels, H, W]``.
            weights: ``[6, 5]`` operation weights (usually a softmax), rows in the official edge
                order, columns in ``NB201_OPS`` order. Operations an edge does not hold are left
                out of its sum (their columns are ignored).

        Raises:
            ValueError: ``weights`` does not have shape ``[6, 5]``.
        """
        if weights.shape != (NUM_EDGES, len(NB201_OPS)):
            raise ValueError(
                f"weights must have shape [{NUM_EDGES}, {len(NB201_OPS)}] (edges x NB201_OPS), "
                f"but got weights.shape={list(weights.shape)}."
            )
        h = self.stem(x)
        for block in self.cells:
            h = block.forward_mixed(h, weights) if isinstance(block, _SuperCell) else block(h)
        return self._head(h)

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.lastact(h)).flatten(1))

    def extra_repr(self) -> str:
        choices = "|".join(",".join(c) for c in self.op_choices)
        return f"C={self.C}, N={self.N}, op_choices={choices!r}"


@torch.no_grad()
def export_path(supernet: NB201Supernet, arch: ArchLike) -> NB201Net:
    """The stand-alone NAS-Bench-201 network of ``arch`` holding its supernet path's weights.

    The network is ``build_nb201(arch, C=..., N=..., affine=True, track_running_stats=False)``
    (the supernet's BatchNorm flags outside the cells; see the module docstring), on the
    supernet's device, with the stem, reduction, head and candidate weights copied (not shared).
    The in-cell BatchNorms, affine-free in the supernet, get scale ``1`` and shift ``0``, so the
    network computes exactly the supernet's path in train and in eval mode and can be trained
    further on its own. Torch's global random state is left untouched.

    Args:
        supernet: The trained supernet.
        arch: A path of ``supernet``.

    Returns:
        An :class:`~nas_meta_tune.oneshot.NB201Net`, in the supernet's train/eval mode.

    Raises:
        InvalidArchitectureError: ``arch`` is not a path of ``supernet``.
    """
    ops = supernet.cell(arch)
    ref = next(supernet.parameters())
    with torch.random.fork_rng(devices=[]):
        net = NB201Net(
            ops,
            C=supernet.C,
            N=supernet.N,
            num_classes=supernet.num_classes,
            in_channels=supernet.in_channels,
            affine=True,
            track_running_stats=False,
        )
    net = net.to(device=ref.device, dtype=ref.dtype)
    net.stem.load_state_dict(supernet.stem.state_dict())
    net.lastact.load_state_dict(supernet.lastact.state_dict())
    net.classifier.load_state_dict(supernet.classifier.state_dict())
    for mine, theirs in zip(net.cells, supernet.cells):
        if not isinstance(theirs, _SuperCell):
            mine.load_state_dict(theirs.state_dict())
            continue
        for e, op in enumerate(ops):
            dst, src = mine.edges[e], theirs.edges[e][op]
            for m_dst, m_src in zip(dst.modules(), src.modules()):
                if isinstance(m_dst, nn.Conv2d):
                    m_dst.weight.copy_(m_src.weight)
                elif isinstance(m_dst, nn.BatchNorm2d):
                    m_dst.weight.fill_(1.0)
                    m_dst.bias.zero_()
    return net.train(supernet.training)


class _Path(nn.Module):
    """One path of a supernet as a plain ``model(x)`` (shared weights)."""

    def __init__(self, supernet: NB201Supernet, arch: ArchLike) -> None:
        super().__init__()
        self.supernet = supernet
        self.arch = supernet.cell(arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.supernet(x, self.arch)


def _check_split(name: str, data: Any) -> tuple[torch.Tensor, torch.Tensor]:
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


class NB201SPOSTrainer:
    """Single-path one-shot (SPOS) training of an :class:`NB201Supernet` on in-memory images.

    Every :meth:`step` draws one path uniformly (:meth:`NB201Supernet.sample_arch`) and takes one
    SGD step (momentum, weight decay, gradient-norm clipping, as NAS-Bench-201's search code; a
    constant learning rate) on the cross-entropy of its path on one training minibatch; the
    candidates it does not use get no gradient (``None``) and are not touched by the optimiser.
    Minibatches run through the training set in epochs (a fresh permutation each epoch, the last
    incomplete batch dropped); no augmentation is applied (augment the tensors beforehand).

    Step ``t``'s path and batch come from generators seeded with ``(seed, t)`` (and the epoch), so
    the trainer's whole random state is ``(seed, steps_done)``: two trainers with the same supernet
    and seed follow the same sequence (bit-identical on CPU with a fixed thread count), and
    :meth:`state_dict` / :meth:`load_state_dict` resume exactly. Torch's global random state is
    restored after every step.

    Evaluation (:meth:`evaluate`, :meth:`loss`, :meth:`rank`) runs the path in eval mode over the
    split in chunks of about ``batch_size``; every BatchNorm uses the chunk's statistics (see the
    module docstring), which is the per-path BatchNorm re-calibration of SPOS.

    Args:
        supernet: The supernet (moved to ``device``).
        train: ``(images [n, C_in, H, W] float, labels [n] int64)`` for the weight steps.
        valid: The same for evaluation (and DARTS's architecture steps).
        batch_size: Minibatch size (at most the training set size is used). (default: ``64``)
        lr: SGD learning rate. (default: ``0.025``)
        momentum: SGD momentum. (default: ``0.9``)
        weight_decay: L2 penalty. (default: ``3e-4``)
        grad_clip: Maximal gradient 2-norm, or ``None`` for no clipping. (default: ``5.0``)
        seed: Seeds the paths and the minibatches.
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available, else CPU). The data is
            moved there once.

    Raises:
        ValueError: A bad hyper-parameter or data tensor (the message names it).
    """

    def __init__(
        self,
        supernet: NB201Supernet,
        train: tuple[torch.Tensor, torch.Tensor],
        valid: tuple[torch.Tensor, torch.Tensor],
        *,
        batch_size: int = 64,
        lr: float = 0.025,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        grad_clip: float | None = 5.0,
        seed: int = 0,
        device: str | torch.device | None = None,
    ) -> None:
        if not isinstance(supernet, NB201Supernet):
            raise ValueError(f"supernet must be an NB201Supernet, got {type(supernet).__name__}.")
        self.batch_size = _check_positive_int("batch_size", batch_size)
        if not lr > 0:
            raise ValueError(f"lr must be > 0, but got {lr=}.")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), but got {momentum=}.")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, but got {weight_decay=}.")
        if grad_clip is not None and not grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0 or None, but got {grad_clip=}.")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, but got {seed=}.")
        xt, yt = _check_split("train", train)
        xv, yv = _check_split("valid", valid)
        for name, x in (("train", xt), ("valid", xv)):
            if x.shape[1] != supernet.in_channels:
                raise ValueError(
                    f"{name} images have {x.shape[1]} channels, the supernet expects "
                    f"in_channels={supernet.in_channels}."
                )
        top = max(int(yt.max()), int(yv.max()))
        if top >= supernet.num_classes:
            raise ValueError(
                f"labels go up to {top}, the supernet has num_classes={supernet.num_classes}."
            )
        self.device = resolve_device(device)
        self.supernet = supernet.to(self.device)
        self._data = {
            "train": (xt.to(self.device), yt.to(self.device)),
            "valid": (xv.to(self.device), yv.to(self.device)),
        }
        self.lr, self.momentum = float(lr), float(momentum)
        self.weight_decay = float(weight_decay)
        self.grad_clip = None if grad_clip is None else float(grad_clip)
        self.seed = int(seed)
        self.steps_done = 0
        self.last_arch: Architecture | None = None
        self._perm_cache: dict[str, tuple[int, torch.Tensor]] = {}
        self._opt = torch.optim.SGD(
            self.supernet.parameters(),
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
        )

    # ------------------------------------------------------------------------------ training
    @contextlib.contextmanager
    def _step_rng(self) -> Iterator[None]:
        """Torch's random state seeded from ``(seed, step)`` for one step, restored after it."""
        with seeded_rng(_seed_int(self.seed, self.steps_done, 1), self.device):
            yield

    def _batch(self, split: str, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Minibatch ``step`` of ``split``: epoch ``e``'s permutation is seeded by
        ``(seed, e, split)``, so the batch depends on ``(seed, step)`` only."""
        x, y = self._data[split]
        n = len(x)
        bs = min(self.batch_size, n)
        per_epoch = n // bs
        epoch, k = divmod(step, per_epoch)
        cached = self._perm_cache.get(split)
        if cached is None or cached[0] != epoch:
            rng = np.random.default_rng([self.seed, epoch, 3 if split == "train" else 4])
            cached = (epoch, torch.as_tensor(rng.permutation(n), device=self.device))
            self._perm_cache[split] = cached
        perm = cached[1]
        idx = perm[k * bs : (k + 1) * bs]
        return x[idx], y[idx]

    def _weight_step(self, loss: torch.Tensor) -> None:
        loss.backward()
        if self.grad_clip is not None:
            params = [p for p in self.supernet.parameters() if p.grad is not None]
            nn.utils.clip_grad_norm_(params, self.grad_clip)
        self._opt.step()

    def step(self, arch: ArchLike | None = None) -> float:
        """One SPOS step on one training minibatch (on ``arch``'s path if given, else on a
        uniformly drawn one); its training loss."""
        rng = np.random.default_rng([self.seed, self.steps_done])
        if arch is None:
            arch = self.supernet.sample_arch(rng)
        ops = self.supernet.cell(arch)
        x, y = self._batch("train", self.steps_done)
        with self._step_rng():
            self.supernet.train()
            self._opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(self.supernet(x, ops), y)
            self._weight_step(loss)
        self.steps_done += 1
        self.last_arch = arch
        return float(loss.detach())

    def train(self, steps: int) -> list[float]:
        """``steps`` training steps; their training losses."""
        if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 0:
            raise ValueError(f"steps must be an int >= 0, but got {steps=}.")
        return [self.step() for _ in range(int(steps))]

    # ---------------------------------------------------------------------------- evaluation
    def _split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        if split not in self._data:
            raise ValueError(f"split must be one of {list(self._data)}, but got {split=}.")
        return self._data[split]

    @torch.no_grad()
    def _eval(self, arch: ArchLike, split: str) -> tuple[float, float]:
        """(accuracy %, mean cross-entropy) of ``arch``'s path over ``split``."""
        ops = self.supernet.cell(arch)
        x, y = self._split(split)
        n_chunks = max(1, len(x) // self.batch_size)
        was_training = self.supernet.training
        self.supernet.eval()
        correct, loss = 0, 0.0
        try:
            for idx in torch.arange(len(x), device=self.device).tensor_split(n_chunks):
                out = self.supernet(x[idx], ops)
                correct += int((out.argmax(dim=1) == y[idx]).sum())
                loss += float(F.cross_entropy(out, y[idx], reduction="sum"))
        finally:
            self.supernet.train(was_training)
        return 100.0 * correct / len(x), loss / len(x)

    def evaluate(self, arch: ArchLike, split: str = "valid") -> float:
        """Accuracy (percent) of ``arch`` with its inherited weights on ``"valid"`` or
        ``"train"`` (BatchNorm re-calibrated on every evaluation chunk, see the class)."""
        return self._eval(arch, split)[0]

    def loss(self, arch: ArchLike, split: str = "valid") -> float:
        """Mean cross-entropy of ``arch`` with its inherited weights on ``split``."""
        return self._eval(arch, split)[1]

    def rank(self, archs: Iterable[ArchLike], score: str = "acc") -> np.ndarray:
        """Supernet scores of ``archs`` (higher = better): validation accuracy (``"acc"``) or
        negative validation loss (``"loss"``)."""
        return path_scores(self, archs, score)

    def path_model(self, arch: ArchLike) -> nn.Module:
        """``arch``'s sub-network as ``model(x)`` sharing the supernet's weights (see
        :func:`export_path` for a copy)."""
        return _Path(self.supernet, arch)

    # --------------------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training exactly: supernet weights, optimiser state
        (momentum buffers), the seed and the step counter (the random state, see the class)."""
        # copies: the optimiser's state_dict holds its live tensors
        return copy.deepcopy(
            {
                "supernet": self.supernet.state_dict(),
                "optimizer": self._opt.state_dict(),
                "seed": self.seed,
                "steps_done": self.steps_done,
            }
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (of a trainer of the same supernet shape); the trainer
        then continues exactly as the saved one would have, with its seed."""
        self.supernet.load_state_dict(state["supernet"])
        self._opt.load_state_dict(copy.deepcopy(state["optimizer"]))
        self.seed = int(state["seed"])
        self.steps_done = int(state["steps_done"])
        self._perm_cache = {}

    def spawn(
        self, op_choices: OpChoices, *, inherit: bool = True, seed: int | None = None
    ) -> NB201SPOSTrainer:
        """A trainer of the sub-supernet restricted to ``op_choices`` (same data and optimiser
        settings, a fresh optimiser); weights copied (``inherit``) or re-initialised."""
        seed = self.seed if seed is None else int(seed)
        sub = self.supernet.restrict(op_choices, inherit=inherit, seed=seed)
        return NB201SPOSTrainer(
            sub,
            self._data["train"],
            self._data["valid"],
            batch_size=self.batch_size,
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            grad_clip=self.grad_clip,
            seed=seed,
            device=self.device,
        )


class NB201DARTSTrainer(NB201SPOSTrainer):
    """First-order DARTS (Liu et al., https://arxiv.org/abs/1806.09055) on an
    :class:`NB201Supernet`, as in NAS-Bench-201's DARTS-V1 baseline.

    The architecture parameters are the logits :attr:`alpha` ``[6, 5]`` (edges x ``NB201_OPS``;
    an operation an edge does not hold is masked out of its softmax), exposed by
    :meth:`arch_parameters`. Every :meth:`step` first takes one Adam step of ``alpha`` on the
    validation loss of the relaxed network (:meth:`NB201Supernet.forward_mixed`) on one
    validation minibatch, the weights held fixed (the first-order approximation), then one SGD
    step of the weights on the training loss of one training minibatch. :meth:`derive` gives the
    most likely cell, :meth:`arch_log_prob` scores any cell by its log-probability under the
    learned distribution, and :meth:`rank` scores by that (``"alpha"``) or, as
    :class:`NB201SPOSTrainer`, by the inherited-weight accuracy of the cell's own path.

    Args:
        supernet, train, valid, batch_size, lr, momentum, weight_decay, grad_clip, seed, device:
            As :class:`NB201SPOSTrainer`.
        arch_lr: Step size of the architecture optimiser. (default: ``3e-4``, as DARTS)
        arch_weight_decay: Its L2 penalty. (default: ``1e-3``, as DARTS)
        arch_betas: Its Adam betas. (default: ``(0.5, 0.999)``, as DARTS)
    """

    def __init__(
        self,
        supernet: NB201Supernet,
        train: tuple[torch.Tensor, torch.Tensor],
        valid: tuple[torch.Tensor, torch.Tensor],
        *,
        batch_size: int = 64,
        lr: float = 0.025,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        grad_clip: float | None = 5.0,
        seed: int = 0,
        device: str | torch.device | None = None,
        arch_lr: float = 3e-4,
        arch_weight_decay: float = 1e-3,
        arch_betas: tuple[float, float] = (0.5, 0.999),
    ) -> None:
        super().__init__(
            supernet,
            train,
            valid,
            batch_size=batch_size,
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            grad_clip=grad_clip,
            seed=seed,
            device=device,
        )
        if not arch_lr > 0 or not arch_weight_decay >= 0:
            raise ValueError(
                f"need arch_lr > 0 and arch_weight_decay >= 0, got {arch_lr=}, {arch_weight_decay=}."
            )
        self.arch_lr, self.arch_weight_decay = float(arch_lr), float(arch_weight_decay)
        self.arch_betas = (float(arch_betas[0]), float(arch_betas[1]))
        # DARTS initialises the architecture logits at 1e-3 * N(0, 1)
        gen = torch.Generator().manual_seed(_seed_int(self.seed, 0, 2))
        self.alpha = nn.Parameter(
            1e-3 * torch.randn(NUM_EDGES, len(NB201_OPS), generator=gen).to(self.device)
        )
        self._mask = torch.tensor(
            [[op in c for op in NB201_OPS] for c in self.supernet.op_choices],
            dtype=torch.bool,
            device=self.device,
        )
        self._arch_opt = torch.optim.Adam(
            [self.alpha],
            lr=self.arch_lr,
            betas=self.arch_betas,
            weight_decay=self.arch_weight_decay,
        )

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters: ``[alpha]``."""
        return [self.alpha]

    def arch_weights(self, alpha: torch.Tensor | None = None) -> torch.Tensor:
        """``softmax(alpha)`` per edge over the operations it holds (others get ``0``),
        ``[6, 5]``."""
        a = self.alpha if alpha is None else alpha
        return torch.softmax(a.masked_fill(~self._mask, float("-inf")), dim=1)

    def step(self, arch: ArchLike | None = None) -> float:
        """One architecture step (a validation minibatch) and one weight step (a training
        minibatch) of the relaxed network; the training loss. ``arch`` must be ``None`` (DARTS
        trains the mixture)."""
        if arch is not None:
            raise ValueError(
                f"NB201DARTSTrainer trains the relaxed cell, got {arch=}; use NB201SPOSTrainer "
                "to train a given path."
            )
        xv, yv = self._batch("valid", self.steps_done)
        xt, yt = self._batch("train", self.steps_done)
        with self._step_rng():
            self.supernet.train()
            self._arch_opt.zero_grad(set_to_none=True)
            F.cross_entropy(self.supernet.forward_mixed(xv, self.arch_weights()), yv).backward()
            self._arch_opt.step()
            self._opt.zero_grad(set_to_none=True)
            weights = self.arch_weights(self.alpha.detach())
            loss = F.cross_entropy(self.supernet.forward_mixed(xt, weights), yt)
            self._weight_step(loss)
        self.steps_done += 1
        return float(loss.detach())

    @torch.no_grad()
    def arch_log_prob(self, arch: ArchLike) -> float:
        """log P(``arch``) under the learned distribution (independent edges)."""
        ops = self.supernet.cell(arch)
        logp = torch.log(self.arch_weights())
        return float(sum(logp[e, NB201_OPS.index(op)] for e, op in enumerate(ops)))

    @torch.no_grad()
    def derive(self) -> Architecture:
        """The most likely cell: the argmax of ``alpha`` per edge over the operations it holds
        (``none`` included, as NAS-Bench-201's DARTS baseline)."""
        from ..spaces import get_space

        best = self.arch_weights().argmax(dim=1).tolist()
        return get_space("nb201").from_params(
            {f"edge_{s}_{d}": NB201_OPS[k] for (s, d), k in zip(EDGES, best)}
        )

    def rank(self, archs: Iterable[ArchLike], score: str = "alpha") -> np.ndarray:
        """Scores of ``archs`` (higher = better): ``"alpha"`` (log-probability under the learned
        distribution), or ``"acc"`` / ``"loss"`` of the inherited-weight path."""
        if score == "alpha":
            return np.asarray([self.arch_log_prob(a) for a in archs], dtype=float)
        if score not in ("acc", "loss"):
            raise ValueError(f"score must be 'alpha', 'acc' or 'loss', but got {score=}.")
        return super().rank(archs, score)

    def state_dict(self) -> dict[str, Any]:
        """As :meth:`NB201SPOSTrainer.state_dict`, plus ``alpha`` and its optimiser state."""
        return {
            **super().state_dict(),
            "alpha": self.alpha.detach().clone(),
            "arch_optimizer": copy.deepcopy(self._arch_opt.state_dict()),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        with torch.no_grad():
            self.alpha.copy_(state["alpha"])
        self._arch_opt.load_state_dict(copy.deepcopy(state["arch_optimizer"]))

    def spawn(self, *args: Any, **kwargs: Any) -> NB201SPOSTrainer:
        raise NotImplementedError("few-shot splitting is defined for SPOS sub-supernets.")


def build_nb201_supernet(
    train: tuple[torch.Tensor, torch.Tensor],
    valid: tuple[torch.Tensor, torch.Tensor],
    *,
    strategy: str = "spos",
    C: int = 16,
    N: int = 5,
    op_choices: OpChoices | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    **trainer_kwargs: Any,
) -> NB201SPOSTrainer:
    """An untrained :class:`NB201Supernet` wrapped in its :class:`NB201SPOSTrainer`
    (``strategy="spos"``) or :class:`NB201DARTSTrainer` (``strategy="darts"``).

    ``num_classes`` is ``1 + `` the largest label of ``train`` and ``valid``, ``in_channels`` the
    images' channel count.

    Args:
        train, valid: ``(images [n, C_in, H, W], labels [n])`` tensors.
        strategy: ``"spos"`` or ``"darts"``.
        C, N, op_choices, seed: See :class:`NB201Supernet` (``seed`` also seeds the trainer).
        device: See :class:`NB201SPOSTrainer`.
        **trainer_kwargs: Passed to the trainer (``batch_size``, ``lr``, ..., and for DARTS
            ``arch_lr``, ``arch_weight_decay``, ``arch_betas``).

    Raises:
        ValueError: A bad strategy, size or data tensor.

    Example::

        trainer = build_nb201_supernet((x_train, y_train), (x_valid, y_valid), strategy="darts")
        trainer.train(1000)
        best = trainer.derive()
    """
    if strategy not in ("spos", "darts"):
        raise ValueError(f"strategy must be 'spos' or 'darts', but got {strategy=}.")
    xt, yt = _check_split("train", train)
    xv, yv = _check_split("valid", valid)
    net = NB201Supernet(
        C=C,
        N=N,
        num_classes=max(int(yt.max()), int(yv.max())) + 1,
        in_channels=int(xt.shape[1]),
        op_choices=op_choices,
        seed=seed,
    )
    cls = NB201DARTSTrainer if strategy == "darts" else NB201SPOSTrainer
    return cls(net, (xt, yt), (xv, yv), seed=seed, device=device, **trainer_kwargs)
