"""TransNAS-Bench-101 micro cell space (Duan et al., CVPR 2021; https://arxiv.org/abs/2105.11871)."""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import cast

from ..exceptions import InvalidArchitectureError
from ._cell201 import Spec, TopologyCellSpace

__all__ = ["TransNASMicroSpace"]

_STR_RE = re.compile(r"^(\d+)-(\d+)-([0-3])_([0-3]{2})_([0-3]{3})$")


class TransNASMicroSpace(TopologyCellSpace):
    """TransNAS-Bench-101 micro: the NB201 cell topology with 4 operations, 4,096 cells.

    Operations (TransNAS codes): ``0`` none (zeroize), ``1`` skip_connect, ``2`` nor_conv_1x1
    (ReLU-Conv1x1-BN), ``3`` nor_conv_3x3 (ReLU-Conv3x3-BN); parameters use those names so they
    read as in NB201. Official string: ``64-41414-{e01}_{e02}{e12}_{e03}{e13}{e23}``, e.g.
    ``64-41414-3_33_333``; the macro skeleton prefix ``64-41414`` is fixed. :meth:`key` uses
    NAS-Bench-201's isomorphism convention.
    """

    name = "transnas_micro"
    ops = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
    unified_ops = {
        "none": "none",
        "skip_connect": "skip",
        "nor_conv_1x1": "conv1x1",
        "nor_conv_3x3": "conv3x3",
    }
    prefix = "64-41414"

    def _to_string(self, spec: Hashable) -> str:
        c = [str(self.ops.index(op)) for op in cast(Spec, spec)]
        return f"{self.prefix}-{c[0]}_{c[1]}{c[2]}_{c[3]}{c[4]}{c[5]}"

    def _from_string(self, s: str) -> Hashable:
        m = _STR_RE.match(s.strip())
        if not m:
            raise InvalidArchitectureError(
                f"expected a micro cell string like '64-41414-3_33_333' (op codes 0-3), got {s!r}.",
                space=self.name,
            )
        if f"{m.group(1)}-{m.group(2)}" != self.prefix:
            raise InvalidArchitectureError(
                f"only the micro skeleton {self.prefix!r} is supported, got {m.group(1)}-{m.group(2)!r}.",
                space=self.name,
            )
        codes = m.group(3) + m.group(4) + m.group(5)
        return self._check_ops(tuple(self.ops[int(c)] for c in codes))
