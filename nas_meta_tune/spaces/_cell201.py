"""The NAS-Bench-201 cell topology, shared by NB201 and TransNAS-Bench-101 micro.

A cell has 4 nodes; node ``j`` sums one operation applied to every earlier node ``i < j``, i.e.
6 edges in the benchmark's string order ``(1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2)``.
A spec is the tuple of 6 official op names in that order.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from typing import Any, cast

from ..exceptions import InvalidArchitectureError
from ._base import ArchGraph, Param, SearchSpace, product_specs

__all__ = ["EDGES", "TopologyCellSpace"]

#: (src, dst) of the 6 edges, in official string order
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: the 6 official op names, in :data:`EDGES` order
Spec = tuple[str, ...]


def _cell_graph_edges() -> tuple[tuple[int, int], ...]:
    # node 0 = input, nodes 1..6 = the 6 edges as op nodes, node 7 = output
    out = []
    for e, (src, _) in enumerate(EDGES):
        if src == 0:
            out.append((0, e + 1))
    for e, (_, dst) in enumerate(EDGES):
        for f, (src2, _) in enumerate(EDGES):
            if src2 == dst:
                out.append((e + 1, f + 1))
        if dst == 3:
            out.append((e + 1, 7))
    return tuple(sorted(out))


_GRAPH_EDGES = _cell_graph_edges()


class TopologyCellSpace(SearchSpace):
    """Common code of cells with NB201 topology (subclasses set ops, names and strings)."""

    max_nodes = 8
    max_path_length = 3
    #: official op names whose edge contributes a zero term / passes its input unchanged
    zero_op: str = "none"
    identity_op: str = "skip_connect"

    @property
    def params(self) -> tuple[Param, ...]:
        return tuple(Param(f"edge_{s}_{d}", self.ops) for s, d in EDGES)

    def _spec_from_params(self, values: Mapping[str, Any]) -> Hashable:
        return tuple(values[f"edge_{s}_{d}"] for s, d in EDGES)

    def _params_from_spec(self, spec: Hashable) -> dict[str, Any]:
        return {f"edge_{s}_{d}": op for (s, d), op in zip(EDGES, cast(Spec, spec))}

    def _check_ops(self, ops: tuple[str, ...]) -> tuple[str, ...]:
        if len(ops) != 6:
            raise InvalidArchitectureError(
                f"a cell needs 6 edge operations, got {len(ops)}.", space=self.name
            )
        for op in ops:
            if op not in self.ops:
                raise InvalidArchitectureError(
                    f"unknown operation {op!r}; choose one of {list(self.ops)}.", space=self.name
                )
        return tuple(ops)

    def _key(self, spec: Hashable) -> str:
        """NAS-Bench-201's isomorphism convention (its ``to_unique_str(consider_zero=True)``).

        Node ``j``'s expression is the sorted ``+``-join of one term per incoming edge: the zero
        op, or any op applied to a node that is exactly zero, gives the zero term ``#`` (kept in
        the sum, not dropped); the identity passes its input's expression unchanged; any other
        op ``o`` gives ``(expr)@o``. The key is the output node's expression. This yields the
        6,466 unique NB201 cells reported by NAS-Bench-201; dropping the zero terms from sums
        as well would merge more cells (5,390 classes).
        """
        expr = ["x", "", "", ""]
        for dst in (1, 2, 3):
            terms = []
            for (src, d), op in zip(EDGES, cast(Spec, spec)):
                if d != dst:
                    continue
                if op == self.zero_op or expr[src] == "#":
                    terms.append("#")
                elif op == self.identity_op:
                    terms.append(expr[src])
                else:
                    terms.append(f"({expr[src]})@{op}")
            expr[dst] = "+".join(sorted(terms))
        return expr[3]

    def _graph(self, spec: Hashable) -> ArchGraph:
        ops = ("input",) + tuple(self.unified_ops[o] for o in cast(Spec, spec)) + ("output",)
        return ArchGraph(ops, _GRAPH_EDGES)

    def _enumerate_specs(self) -> Iterator[Hashable]:
        return product_specs([self.ops] * 6)
