"""NAS-Bench-Graph GNN search space (Qin et al., NeurIPS 2022 D&B; https://arxiv.org/abs/2206.09166).

A GNN "cell" has an input node and 4 computing nodes. Node ``i`` (1..4) applies one GNN operation
to the output of node ``links[i-1]`` (0 is the input), and the cell's output aggregates every node
that feeds no other node. The benchmark fixes 9 link patterns and 9 operations (proteins was run
with a reduced set of 5), excludes the all-``skip`` cell, and identifies equivalent cells with its
own canonicalisation, giving 26,206 unique architectures.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Mapping
from typing import Any, cast

from .._imports import require
from ..exceptions import InvalidArchitectureError
from ._base import ArchGraph, Param, SearchSpace

__all__ = ["NASBenchGraphSpace", "LINK_PATTERNS", "GNN_OPS", "GNN_OPS_PROTEINS"]

#: the 9 link patterns of the benchmark (input of computing node 1..4; 0 = cell input)
LINK_PATTERNS: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 0, 0),
    (0, 0, 0, 1),
    (0, 0, 1, 1),
    (0, 0, 1, 2),
    (0, 0, 1, 3),
    (0, 1, 1, 1),
    (0, 1, 1, 2),
    (0, 1, 2, 2),
    (0, 1, 2, 3),
)
GNN_OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
GNN_OPS_PROTEINS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")

#: ``(links, ops)``
Spec = tuple[tuple[int, ...], tuple[str, ...]]

_STR_RE = re.compile(r"^\[?\s*(\d)\s*,\s*(\d)\s*,\s*(\d)\s*,\s*(\d)\s*\]?\s*\|\s*(.+)$")


def _link_name(links: tuple[int, ...]) -> str:
    return "".join(map(str, links))


class NASBenchGraphSpace(SearchSpace):
    """NAS-Bench-Graph: 9 link patterns x 9^4 operation choices (all-``skip`` excluded).

    Parameters: ``links`` (one of ``"0000"``, ``"0001"``, ... ``"0123"``) and ``op_1`` .. ``op_4``.
    Official string: ``"0,0,1,2|gcn,gat,skip,fc"`` (links, then the 4 operations; the benchmark's
    ``Arch(link, ops)``). :meth:`key` is the benchmark's own canonical hash (``Arch.valid_hash`` of
    the ``nas-bench-graph`` package), which is also the key of its result tables.

    Args:
        op_set: ``"full"`` (9 operations) or ``"proteins"`` (the 5 used for ogbn-proteins).
    """

    max_nodes = 6
    max_path_length = 4

    def __init__(self, op_set: str = "full") -> None:
        super().__init__()
        if op_set not in ("full", "proteins"):
            raise ValueError(f"op_set must be 'full' or 'proteins', but got {op_set=}.")
        self.op_set = op_set
        self.ops = GNN_OPS if op_set == "full" else GNN_OPS_PROTEINS
        self.unified_ops = {op: op for op in self.ops}
        self.name = "nasbench_graph" if op_set == "full" else "nasbench_graph_proteins"

    @property
    def params(self) -> tuple[Param, ...]:
        """The categorical parameters (see the class docstring)."""
        return (Param("links", tuple(_link_name(lk) for lk in LINK_PATTERNS)),) + tuple(
            Param(f"op_{i}", self.ops) for i in range(1, 5)
        )

    def _make(self, links: tuple[int, ...], ops: tuple[str, ...]) -> Hashable:
        if tuple(links) not in LINK_PATTERNS:
            raise InvalidArchitectureError(
                f"link pattern {list(links)} is not one of the benchmark's 9 patterns "
                f"{[list(lk) for lk in LINK_PATTERNS]}.",
                space=self.name,
            )
        if len(ops) != 4:
            raise InvalidArchitectureError(f"need 4 operations, got {len(ops)}.", space=self.name)
        for op in ops:
            if op not in self.ops:
                raise InvalidArchitectureError(
                    f"unknown operation {op!r}; choose one of {list(self.ops)}.", space=self.name
                )
        if all(op == "skip" for op in ops):
            raise InvalidArchitectureError(
                "the all-'skip' cell is excluded by the benchmark.", space=self.name
            )
        return (tuple(links), tuple(ops))

    def _forbidden_values(self) -> list[dict[str, Any]]:
        # the benchmark excludes the all-skip cell: ConfigSpace samplers never draw it
        return [{f"op_{i}": "skip" for i in range(1, 5)}]

    def _spec_from_params(self, values: Mapping[str, Any]) -> Hashable:
        links = tuple(int(c) for c in values["links"])
        return self._make(links, tuple(values[f"op_{i}"] for i in range(1, 5)))

    def _params_from_spec(self, spec: Hashable) -> dict[str, Any]:
        links, ops = cast(Spec, spec)
        return {"links": _link_name(links)} | {f"op_{i}": op for i, op in enumerate(ops, start=1)}

    def _key(self, spec: Hashable) -> str:
        Arch = require("nas_bench_graph.architecture", feature="NAS-Bench-Graph architectures").Arch  # noqa: N806 - a class, imported lazily

        links, ops = cast(Spec, spec)
        return str(Arch(list(links), list(ops)).valid_hash())

    def bench_key(self, arch) -> int:  # noqa: ANN001 - Architecture
        """The integer key of this architecture in the ``nas-bench-graph`` result tables."""
        return int(self.key(arch))

    def _to_string(self, spec: Hashable) -> str:
        links, ops = cast(Spec, spec)
        return ",".join(map(str, links)) + "|" + ",".join(ops)

    def _from_string(self, s: str) -> Hashable:
        m = _STR_RE.match(s.strip())
        if not m:
            raise InvalidArchitectureError(
                f"expected '<4 links>|<4 ops>' like '0,0,1,2|gcn,gat,skip,fc', got {s!r}.",
                space=self.name,
            )
        links = tuple(int(m.group(i)) for i in range(1, 5))
        ops = tuple(o.strip().strip("'\"") for o in m.group(5).strip("[] ").split(","))
        return self._make(links, ops)

    def _graph(self, spec: Hashable) -> ArchGraph:
        links, ops = cast(Spec, spec)
        # node 0 input, nodes 1..4 computing nodes, node 5 output
        edges = [(src, i) for i, src in enumerate(links, start=1)]
        used = set(links)
        edges += [(i, 5) for i in range(1, 5) if i not in used]
        return ArchGraph(
            ("input",) + tuple(self.unified_ops[o] for o in ops) + ("output",), tuple(sorted(edges))
        )

    def _enumerate_specs(self) -> Iterator[Hashable]:
        import itertools

        for links in LINK_PATTERNS:
            for ops in itertools.product(self.ops, repeat=4):
                if not all(op == "skip" for op in ops):
                    yield (links, ops)
