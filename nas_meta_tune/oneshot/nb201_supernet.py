"""The NAS-Bench-201 supernet: a weight-sharing supernet of the ``nb201`` cell space.

The NAS-Bench-201 search protocol is Dong & Yang's (https://arxiv.org/abs/2001.00326).
:class:`NB201Supernet` (a :class:`~nas_meta_tune.oneshot.Supernet`) has the macro skeleton of
:class:`~nas_meta_tune.networks.NB201Net` (stem, three stages of ``N`` cells with ``C``, ``2C``,
``4C`` channels, the residual reductions, the head) with the same module names, but every edge of
every cell holds one candidate module per operation it may use (``op_choices``).
``supernet(x, arch)`` runs the single path of ``arch``; ``supernet.forward_mixed(x, weights)`` is
DARTS's continuous relaxation.

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

:func:`build_nb201_supernet` wraps a supernet in the :class:`~nas_meta_tune.oneshot.SPOSTrainer`
(one uniformly sampled path per minibatch, SGD as NAS-Bench-201's search code) or the
:class:`~nas_meta_tune.oneshot.DARTSTrainer` (architecture logits ``alpha`` ``[6, 5]`` learned with
Adam on validation batches, weights on training batches) over an
:class:`~nas_meta_tune.oneshot.ImageFeed`. :class:`NB201SPOSTrainer` and
:class:`NB201DARTSTrainer` are those trainers with the image tensors as positional arguments.

>>> import torch
>>> x, y = torch.randn(64, 3, 8, 8), torch.randint(0, 10, (64,))  # synthetic
>>> trainer = build_nb201_supernet((x, y), (x, y), C=4, N=1, batch_size=16, device="cpu")
>>> losses = trainer.train(2)
>>> scores = trainer.rank(["|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

from .._device import seeded_rng
from ..networks.nb201 import NB201_OPS, NB201Net, ResidualReduction, make_op, ops_of
from ..spaces._cell201 import EDGES
from .darts import DARTSTrainer
from .feeds import ImageFeed, check_images
from .spos import SPOSTrainer
from .supernet import ArchLike, OpChoices, Supernet

if TYPE_CHECKING:
    from ..networks.nb201 import NB201Cell
    from ..spaces._base import Architecture

__all__ = [
    "NB201DARTSTrainer",
    "NB201SPOSTrainer",
    "NB201Supernet",
    "build_nb201_supernet",
    "export_path",
]

NUM_EDGES = len(EDGES)


def _check_positive_int(name: str, v: Any) -> int:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{name} must be a positive int, but got {name}={v!r}.")
    return int(v)


def _nb201_arch(ops: Sequence[str]) -> Architecture:
    from ..spaces import get_space

    return get_space("nb201").from_params({f"edge_{s}_{d}": op for (s, d), op in zip(EDGES, ops)})


class _SuperCell(nn.Module):
    """One NB201 cell of a supernet: ``edges[e][op]`` is edge ``e``'s candidate for ``op``."""

    def __init__(self, channels: int, op_choices: tuple[tuple[str, ...], ...]) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: make_op(op, channels, affine=False, track=False) for op in ops})
            for ops in op_choices
        )

    def forward(self, x: torch.Tensor, ops: Sequence[str]) -> torch.Tensor:
        nodes = [x]
        for dst in (1, 2, 3):
            terms = [
                cast(nn.ModuleDict, self.edges[e])[ops[e]](nodes[s])
                for e, (s, d) in enumerate(EDGES)
                if d == dst
            ]
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
                for op, mod in cast(nn.ModuleDict, self.edges[e]).items()
            ]
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            nodes.append(total)
        return nodes[3]


class NB201Supernet(Supernet):
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

    space_name = "nb201"
    vocabulary = NB201_OPS
    num_positions = NUM_EDGES
    position_kind = "edge"

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
        self.op_choices = self.normalise_choices(op_choices)
        self.seed = int(seed)
        with seeded_rng(self.seed):
            self._build()

    def _build(self) -> None:
        C = self.C
        self.stem = nn.Sequential(
            nn.Conv2d(self.in_channels, C, 3, padding=1, bias=False),
            nn.BatchNorm2d(C, affine=True, track_running_stats=False),
        )
        blocks: list[nn.Module] = []
        c_prev = C
        for stage, mult in enumerate((1, 2, 4)):
            c = C * mult
            if stage > 0:
                blocks.append(ResidualReduction(c_prev, c, affine=True, track=False))
            blocks.extend(_SuperCell(c, self.op_choices) for _ in range(self.N))
            c_prev = c
        self.cells = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(
            nn.BatchNorm2d(c_prev, affine=True, track_running_stats=False),
            nn.ReLU(inplace=False),
        )
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, self.num_classes)

    # ------------------------------------------------------------------------- architectures
    @classmethod
    def choices_hint(cls) -> str:
        """The edge order the op sets follow, for error messages."""
        return f", in the order {list(EDGES)}"

    def position_label(self, pos: int) -> str:
        """``"edge dst<-src"`` of edge ``pos``."""
        src, dst = EDGES[pos]
        return f"edge {dst}<-{src}"

    def position_name(self, pos: int) -> str:
        """The space's parameter name ``"edge_src_dst"`` of edge ``pos``."""
        src, dst = EDGES[pos]
        return f"edge_{src}_{dst}"

    def ops_of(self, arch: ArchLike) -> tuple[str, ...]:
        """The 6 edge operations of ``arch`` (checked to be an ``nb201`` cell)."""
        return ops_of(arch)

    def cell(self, arch: ArchLike) -> tuple[str, ...]:
        """The 6 edge operations of ``arch``, checked to be a path of this (sub-)supernet.

        Raises:
            InvalidArchitectureError: ``arch`` is not an ``nb201`` cell, or uses an operation
                this supernet does not hold on that edge.
        """
        return self.check_ops(ops_of(arch))

    def with_op(self, arch: ArchLike, pos: int, op: str) -> ArchLike | None:
        """``arch``'s operations with ``op`` on edge ``pos``."""
        ops = ops_of(arch)
        return (*ops[:pos], op, *ops[pos + 1 :])

    def sample_arch(self, rng: np.random.Generator | int | None = None) -> Architecture:
        """One path drawn uniformly: an allowed operation per edge, independently.

        Args:
            rng: A numpy generator (used as is) or a seed.
        """
        rng = np.random.default_rng(rng)
        return _nb201_arch([c[int(rng.integers(len(c)))] for c in self.op_choices])

    def num_paths(self) -> int:
        """Number of paths (cells) of this (sub-)supernet: ``15625`` for the full space."""
        return int(np.prod([len(c) for c in self.op_choices]))

    # ------------------------------------------------------------------------------- weights
    def path_parameters(self, arch: ArchLike) -> list[nn.Parameter]:
        """The parameters ``arch``'s path uses: stem, reductions, head and its candidates."""
        ops = self.cell(arch)
        params = [*self.stem.parameters(), *self.lastact.parameters()]
        params += list(self.classifier.parameters())
        for block in self.cells:
            if isinstance(block, _SuperCell):
                for e, op in enumerate(ops):
                    params += list(cast(nn.ModuleDict, block.edges[e])[op].parameters())
            else:
                params += list(block.parameters())
        return params

    def candidate_modules(self, pos: int) -> list[nn.ModuleDict]:
        """The ``ModuleDict`` of edge ``pos``'s candidates, one per searched cell."""
        return [cast(nn.ModuleDict, b.edges[pos]) for b in self.cells if isinstance(b, _SuperCell)]

    def fresh(self, op_choices: tuple[tuple[str, ...], ...], seed: int) -> NB201Supernet:
        """A freshly initialised supernet of the same sizes with ``op_choices``."""
        return NB201Supernet(
            C=self.C,
            N=self.N,
            num_classes=self.num_classes,
            in_channels=self.in_channels,
            op_choices=op_choices,
            seed=seed,
        )

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

    # ----------------------------------------------------------------------------- DARTS
    def init_arch_parameters(self, generator: torch.Generator) -> list[torch.Tensor]:
        """``[alpha]``: logits ``[6, 5]``, edges x ``NB201_OPS``."""
        return [1e-3 * torch.randn(NUM_EDGES, len(NB201_OPS), generator=generator)]

    def arch_weights(self, arch_params: Sequence[torch.Tensor]) -> torch.Tensor:
        """``softmax(alpha)`` per edge over the operations it holds (others get ``0``),
        ``[6, 5]``."""
        alpha = arch_params[0]
        held = torch.tensor(
            [[op in c for op in NB201_OPS] for c in self.op_choices],
            dtype=torch.bool,
            device=alpha.device,
        )
        return torch.softmax(alpha.masked_fill(~held, float("-inf")), dim=1)

    def forward_relaxed(
        self, inputs: Sequence[Any], arch_params: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """:meth:`forward_mixed` under the edge weights ``arch_weights(arch_params)``."""
        # inputs holds (x,), which the checker cannot count
        return self.forward_mixed(*inputs, self.arch_weights(arch_params))  # type: ignore[call-arg]

    def arch_log_prob(self, arch_params: Sequence[torch.Tensor], arch: ArchLike) -> float:
        """Log P(``arch``) (independent edges)."""
        ops = self.cell(arch)
        logp = torch.log(self.arch_weights(arch_params))
        return float(sum(logp[e, NB201_OPS.index(op)] for e, op in enumerate(ops)))

    def derive(self, arch_params: Sequence[torch.Tensor]) -> Architecture:
        """The most likely cell: the argmax of ``alpha`` per edge over the operations it holds
        (``none`` included, as NAS-Bench-201's DARTS baseline)."""
        best = self.arch_weights(arch_params).argmax(dim=1).tolist()
        return _nb201_arch([NB201_OPS[k] for k in best])

    def extra_repr(self) -> str:
        """``C``, ``N`` and the op choices, for ``repr``."""
        return f"C={self.C}, N={self.N}, {super().extra_repr()}"


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
            # mine: the NB201Cell where the supernet has a _SuperCell
            dst = cast("NB201Cell", mine).edges[e]
            src = cast(nn.ModuleDict, theirs.edges[e])[op]
            for m_dst, m_src in zip(dst.modules(), src.modules()):
                if isinstance(m_dst, nn.Conv2d):  # m_src: the same op's Conv2d
                    m_dst.weight.copy_(cast(nn.Conv2d, m_src).weight)
                elif isinstance(m_dst, nn.BatchNorm2d):
                    m_dst.weight.fill_(1.0)
                    m_dst.bias.zero_()
    return net.train(supernet.training)


class NB201SPOSTrainer(SPOSTrainer):
    """A :class:`~nas_meta_tune.oneshot.SPOSTrainer` over images, built from the tensors:
    ``SPOSTrainer(supernet, ImageFeed(train, valid, batch_size=...), ...)`` with NAS-Bench-201's
    search settings (SGD, momentum, weight decay, gradient-norm clipping, constant learning rate).

    Args:
        supernet: The supernet (moved to ``device``).
        train: ``(images [n, C_in, H, W] float, labels [n] int64)`` for the weight steps.
        valid: The same for evaluation.
        batch_size: Minibatch size (at most the training set size is used). (default: ``64``)
        lr, momentum, weight_decay, grad_clip, seed, device: As
            :class:`~nas_meta_tune.oneshot.SPOSTrainer`. (defaults: ``0.025``, ``0.9``,
            ``3e-4``, ``5.0``, ``0``, CUDA when available)
    """

    def __init__(
        self,
        supernet: NB201Supernet,
        train: tuple[torch.Tensor, torch.Tensor],
        valid: tuple[torch.Tensor, torch.Tensor],
        *,
        batch_size: int = 64,
        **kwargs: Any,
    ) -> None:
        super().__init__(supernet, ImageFeed(train, valid, batch_size=batch_size), **kwargs)


class NB201DARTSTrainer(DARTSTrainer):
    """A :class:`~nas_meta_tune.oneshot.DARTSTrainer` over images, built from the tensors as
    :class:`NB201SPOSTrainer`; :attr:`alpha` is its architecture parameter ``[6, 5]``.

    Args:
        supernet, train, valid, batch_size: As :class:`NB201SPOSTrainer`.
        **kwargs: As :class:`~nas_meta_tune.oneshot.DARTSTrainer` (``lr``, ..., ``arch_lr``,
            ``arch_weight_decay``, ``arch_betas``).
    """

    def __init__(
        self,
        supernet: NB201Supernet,
        train: tuple[torch.Tensor, torch.Tensor],
        valid: tuple[torch.Tensor, torch.Tensor],
        *,
        batch_size: int = 64,
        **kwargs: Any,
    ) -> None:
        super().__init__(supernet, ImageFeed(train, valid, batch_size=batch_size), **kwargs)

    @property
    def alpha(self) -> nn.Parameter:
        """The architecture logits ``[6, 5]`` (edges x ``NB201_OPS``)."""
        return self.arch_params[0]


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
) -> SPOSTrainer:
    """An untrained :class:`NB201Supernet` wrapped in its :class:`NB201SPOSTrainer`
    (``strategy="spos"``) or :class:`NB201DARTSTrainer` (``strategy="darts"``).

    ``num_classes`` is ``1 + `` the largest label of ``train`` and ``valid``, ``in_channels`` the
    images' channel count.

    Args:
        train: ``(images [n, C_in, H, W], labels [n])`` training tensors.
        valid: ``(images [n, C_in, H, W], labels [n])`` validation tensors.
        strategy: ``"spos"`` or ``"darts"``.
        C: See :class:`NB201Supernet`.
        N: See :class:`NB201Supernet`.
        op_choices: See :class:`NB201Supernet`.
        seed: Seeds the supernet's initialisation (:class:`NB201Supernet`) and the trainer.
        device: See :class:`~nas_meta_tune.oneshot.SPOSTrainer`.
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
    xt, yt = check_images("train", train)
    xv, yv = check_images("valid", valid)
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
