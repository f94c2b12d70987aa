"""The NAS-Bench-201 network of a cell (Dong & Yang, ICLR 2020, https://arxiv.org/abs/2001.00326).

The macro skeleton every NAS-Bench-201 cell was trained in:

* **Stem.** ``Conv2d(in_channels, C, 3, padding=1, bias=False)`` -> ``BatchNorm2d(C)``.
* **Three stages** of ``N`` cells with ``C``, ``2C`` and ``4C`` channels. Between two stages a
  residual reduction block: ``ReLU-Conv3x3(stride 2)-BN`` -> ``ReLU-Conv3x3-BN`` plus a shortcut
  ``AvgPool2d(2, 2)`` -> ``Conv1x1`` (no BN), added.
* **Head.** ``BatchNorm2d`` -> ``ReLU`` -> global average pooling -> ``Linear(4C, num_classes)``.
* **Cell.** Four nodes; node ``j`` (1..3) is the sum over ``i < j`` of ``op_{i->j}(node i)``, node 0 is
  the cell input and node 3 its output. Operations: ``none`` (multiplies by zero), ``skip_connect``
  (identity), ``nor_conv_1x1`` / ``nor_conv_3x3`` (``ReLU-Conv-BN``, no bias, padding keeping the
  size), ``avg_pool_3x3`` (stride 1, padding 1, padding not counted in the average).

With the defaults (``C=16, N=5, num_classes=10``) the parameter count equals NAS-Bench-201's
CIFAR-10 ``params`` column for every cell (BatchNorm is affine, as in the benchmark).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from ..exceptions import InvalidArchitectureError
from ..spaces._cell201 import EDGES

if TYPE_CHECKING:
    from ..spaces._base import Architecture
    from ..spaces._cell201 import Spec
    from ..spaces.nb201 import NB201Space

__all__ = ["NB201_OPS", "NB201Cell", "NB201Net", "build_nb201"]

#: the five NAS-Bench-201 operations, in the space's order
NB201_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)


class _ReLUConvBN(nn.Sequential):
    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, *, affine: bool, track: bool
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track),
        )


class _Zero(nn.Module):
    """The ``none`` operation: ``x * 0`` (keeps NaNs, as the benchmark's ``Zero`` does)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int, *, affine: bool, track: bool) -> nn.Module:
    """The module of operation ``name`` on ``channels`` channels (stride 1); ``affine`` and
    ``track`` are its BatchNorm's flags."""
    if name == "none":
        return _Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return _ReLUConvBN(channels, channels, 1, 1, affine=affine, track=track)
    if name == "nor_conv_3x3":
        return _ReLUConvBN(channels, channels, 3, 1, affine=affine, track=track)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise InvalidArchitectureError(
        f"unknown operation {name!r}; choose one of {list(NB201_OPS)}.", space="nb201"
    )


class NB201Cell(nn.Module):
    """One NAS-Bench-201 cell of ``channels`` channels (stride 1).

    Args:
        ops: The 6 edge operations in the official string order
            ``(1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2)``.
        channels: Input and output channels.
        affine, track_running_stats: Passed to every ``BatchNorm2d``.

    Shapes:
        input ``[B, channels, H, W]``; output ``[B, channels, H, W]``.
    """

    def __init__(
        self,
        ops: Sequence[str],
        channels: int,
        *,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        if len(ops) != len(EDGES):
            raise InvalidArchitectureError(
                f"a cell needs {len(EDGES)} edge operations, got {len(ops)}.", space="nb201"
            )
        self.op_names = tuple(ops)
        self.edges = nn.ModuleList(
            make_op(op, channels, affine=affine, track=track_running_stats) for op in ops
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The cell's output, node 3; each node sums its incoming edges' operations."""
        nodes = [x]
        for dst in (1, 2, 3):
            terms = [op(nodes[src]) for (src, d), op in zip(EDGES, self.edges) if d == dst]
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            nodes.append(total)
        return nodes[3]

    def extra_repr(self) -> str:
        """The edge operations, for ``repr``."""
        return repr(self.op_names)


class ResidualReduction(nn.Module):
    """The residual block between two stages: stride-2, ``c_in`` -> ``c_out`` channels."""

    def __init__(self, c_in: int, c_out: int, *, affine: bool, track: bool) -> None:
        super().__init__()
        self.conv_a = _ReLUConvBN(c_in, c_out, 3, 2, affine=affine, track=track)
        self.conv_b = _ReLUConvBN(c_out, c_out, 3, 1, affine=affine, track=track)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Net(nn.Module):
    """The NAS-Bench-201 network of one cell (see the module docstring for the wiring).

    Shapes:
        input ``[B, in_channels, H, W]``; output: logits ``[B, num_classes]``.
        :meth:`forward_features` returns the feature map before global pooling,
        ``[B, 4C, H/4, W/4]``.
    """

    def __init__(
        self,
        ops: Sequence[str],
        *,
        C: int = 16,
        N: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        for name, v in (
            ("C", C),
            ("N", N),
            ("num_classes", num_classes),
            ("in_channels", in_channels),
        ):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, but got {name}={v!r}.")
        self.op_names = tuple(ops)
        self.C, self.N, self.num_classes = C, N, num_classes
        kw = {"affine": affine, "track_running_stats": track_running_stats}
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, C, 3, padding=1, bias=False),
            nn.BatchNorm2d(C, **kw),
        )
        blocks: list[nn.Module] = []
        c_prev = C
        for stage, mult in enumerate((1, 2, 4)):
            c = C * mult
            if stage > 0:
                blocks.append(
                    ResidualReduction(c_prev, c, affine=affine, track=track_running_stats)
                )
            blocks.extend(NB201Cell(self.op_names, c, **kw) for _ in range(N))
            c_prev = c
        self.cells = nn.Sequential(*blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev, **kw), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before global average pooling (after the head's BN-ReLU)."""
        return self.lastact(self.cells(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, num_classes]`` of the images ``x``."""
        return self.classifier(self.global_pooling(self.forward_features(x)).flatten(1))

    def reset_parameters(self) -> None:
        """Re-initialise every submodule that has a ``reset_parameters`` method."""
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()  # type: ignore[operator]  # torch types Module.__getattr__ as Tensor | Module

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_string()!r}, C={self.C}, N={self.N})"

    def to_string(self) -> str:
        """The official NAS-Bench-201 string of the cell."""
        nodes = []
        for dst in (1, 2, 3):
            items = [f"{op}~{src}" for (src, d), op in zip(EDGES, self.op_names) if d == dst]
            nodes.append("|" + "|".join(items) + "|")
        return "+".join(nodes)


def ops_of(arch: Architecture | str | Sequence[str]) -> tuple[str, ...]:
    """The 6 edge operations of ``arch`` (an architecture, its string or the operations).

    Raises:
        InvalidArchitectureError: not an ``nb201`` cell.
    """
    from ..spaces import get_space

    space = cast("NB201Space", get_space("nb201"))
    if isinstance(arch, str):
        return tuple(cast("Spec", space.from_string(arch).spec))
    if isinstance(arch, (tuple, list)):
        ops = tuple(arch)
        space._check_ops(ops)  # validates names and length
        return ops
    spc = getattr(arch, "space", None)
    if spc is None or spc.name != "nb201":
        raise InvalidArchitectureError(
            f"expected an nb201 architecture, its official string or its 6 edge operations, "
            f"got {arch!r}.",
            space="nb201",
        )
    # anything with an nb201 .space is taken for an architecture
    return tuple(cast("Spec", cast("Architecture", arch).spec))


def build_nb201(
    arch: Architecture | str | Sequence[str],
    *,
    C: int = 16,
    N: int = 5,
    num_classes: int = 10,
    in_channels: int = 3,
    affine: bool = True,
    track_running_stats: bool = True,
) -> NB201Net:
    """The NAS-Bench-201 network of ``arch`` (defaults: the benchmark's CIFAR-10 network).

    Args:
        arch: An ``nb201`` architecture, its official string
            (``"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"``)
            or its 6 edge operations in the string's order.
        C: Channels of the first stage (the stages have ``C``, ``2C``, ``4C``).
        N: Cells per stage.
        num_classes: Outputs of the classifier.
        in_channels: Input image channels.
        affine: Passed to every ``BatchNorm2d``.
        track_running_stats: Passed to every ``BatchNorm2d``.

    Returns:
        An :class:`NB201Net` (``torch.nn.Module``) called as ``model(x)`` that returns logits;
        its parameters are initialised from torch's global generator.

    Raises:
        InvalidArchitectureError: ``arch`` is not a valid NAS-Bench-201 cell.
        ValueError: a size is not a positive int.

    Example::

        model = build_nb201("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|", C=8, N=1)
        logits = model(torch.randn(2, 3, 32, 32))  # [2, 10]
    """
    return NB201Net(
        ops_of(arch),
        C=C,
        N=N,
        num_classes=num_classes,
        in_channels=in_channels,
        affine=affine,
        track_running_stats=track_running_stats,
    )
