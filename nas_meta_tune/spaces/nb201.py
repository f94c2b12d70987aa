"""NAS-Bench-201 cell search space (Dong & Yang, ICLR 2020; https://arxiv.org/abs/2001.00326)."""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import cast

from ..exceptions import InvalidArchitectureError
from ._cell201 import EDGES, Spec, TopologyCellSpace

__all__ = ["NB201Space"]

_NODE_RE = re.compile(r"^\|(.+)\|$")


class NB201Space(TopologyCellSpace):
    """NAS-Bench-201: 6 edges x 5 operations, 15,625 cells, 6,466 unique up to isomorphism.

    Parameters are ``edge_{src}_{dst}`` with values ``none``, ``skip_connect``, ``nor_conv_1x1``,
    ``nor_conv_3x3``, ``avg_pool_3x3``. The official string is
    ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``. :meth:`key` follows NAS-Bench-201's own
    isomorphism convention (see :meth:`TopologyCellSpace._key`).
    """

    name = "nb201"
    ops = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    unified_ops = {
        "none": "none",
        "skip_connect": "skip",
        "nor_conv_1x1": "conv1x1",
        "nor_conv_3x3": "conv3x3",
        "avg_pool_3x3": "avg_pool_3x3",
    }

    def _to_string(self, spec: Hashable) -> str:
        nodes = []
        for dst in (1, 2, 3):
            items = [f"{op}~{src}" for (src, d), op in zip(EDGES, cast(Spec, spec)) if d == dst]
            nodes.append("|" + "|".join(items) + "|")
        return "+".join(nodes)

    def _from_string(self, s: str) -> Hashable:
        parts = s.strip().split("+")
        if len(parts) != 3:
            raise InvalidArchitectureError(
                f"expected 3 nodes separated by '+' as in '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|', got {s!r}.",
                space=self.name,
            )
        ops: dict[tuple[int, int], str] = {}
        for dst, part in enumerate(parts, start=1):
            m = _NODE_RE.match(part)
            if not m:
                raise InvalidArchitectureError(
                    f"node {dst} {part!r} is not of the form '|op~i|...|'.", space=self.name
                )
            items = m.group(1).split("|")
            if len(items) != dst:
                raise InvalidArchitectureError(
                    f"node {dst} must have {dst} incoming edge(s), got {len(items)} in {part!r}.",
                    space=self.name,
                )
            for item in items:
                op, sep, src = item.partition("~")
                if not sep or not (src.isascii() and src.isdigit()):
                    raise InvalidArchitectureError(
                        f"edge {item!r} is not of the form 'op~i'.", space=self.name
                    )
                key = (int(src), dst)
                if key not in EDGES or key in ops:
                    raise InvalidArchitectureError(
                        f"edge {item!r} of node {dst}: missing or repeated input node {src}.",
                        space=self.name,
                    )
                ops[key] = op
        return self._check_ops(tuple(ops[e] for e in EDGES))
