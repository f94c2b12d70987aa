"""NAS-Bench-101 cell search space (Ying et al., ICML 2019; https://arxiv.org/abs/1902.09635).

A cell is a DAG of at most 7 vertices (``input``, up to 5 intermediate operations, ``output``) with
at most 9 edges, written as an upper-triangular 0/1 adjacency matrix (row = source) plus one
operation name per vertex. As in the official ``nasbench`` API, a cell is first *pruned*: every
vertex that is not on some path from the input to the output is removed; the cell is invalid when
the input does not reach the output, and the vertex and edge limits apply to the pruned cell.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any, cast

import numpy as np

from ..exceptions import InvalidArchitectureError
from ._base import ArchGraph, Architecture, Param, SearchSpace

__all__ = ["NB101Space", "NB101_OPS", "MAX_VERTICES", "MAX_EDGES"]

#: official operation names, in the order that defines the labels of the official graph hash
NB101_OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
#: most vertices of a (pruned) cell, input and output included
MAX_VERTICES = 7
#: most edges of a (pruned) cell
MAX_EDGES = 9
_MAX_INTERMEDIATE = MAX_VERTICES - 2
_INPUT, _OUTPUT = "input", "output"
#: labels of the official hash (``nasbench.lib.model_spec.ModelSpec.hash_spec``)
_HASH_LABELS: dict[str, int] = {_INPUT: -1, _OUTPUT: -2} | {op: i for i, op in enumerate(NB101_OPS)}

Spec = tuple[tuple[tuple[int, ...], ...], tuple[str, ...]]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _graph_hash(matrix: Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """NAS-Bench-101's isomorphism-invariant graph fingerprint (``graph_util.hash_module``).

    Every vertex starts from the md5 of the text of its ``(out-degree, in-degree, label)`` tuple.
    Then, as many times as there are vertices, each vertex is re-hashed from the sorted, concatenated
    hashes of its predecessors, ``|``, those of its successors, ``|`` and its own hash. The
    fingerprint is the md5 of the text of the sorted list of the final vertex hashes.
    """
    n = len(matrix)
    preds = [[u for u in range(n) if matrix[u][v]] for v in range(n)]
    succs = [[w for w in range(n) if matrix[v][w]] for v in range(n)]
    hashes = [_md5(str((len(succs[v]), len(preds[v]), int(labels[v])))) for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5(
                "".join(sorted(hashes[u] for u in preds[v]))
                + "|"
                + "".join(sorted(hashes[w] for w in succs[v]))
                + "|"
                + hashes[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


def _prune(matrix: list[list[int]], ops: list[str]) -> Spec | None:
    """Keep the vertices on some input->output path; ``None`` if the input misses the output."""
    n = len(matrix)
    from_input = [False] * n
    from_input[0] = True
    for v in range(n):  # vertices are in topological order
        if from_input[v]:
            for w in range(v + 1, n):
                if matrix[v][w]:
                    from_input[w] = True
    to_output = [False] * n
    to_output[n - 1] = True
    for v in range(n - 1, -1, -1):
        if not to_output[v]:
            to_output[v] = any(matrix[v][w] and to_output[w] for w in range(v + 1, n))
    keep = [v for v in range(n) if from_input[v] and to_output[v]]
    if not keep:
        return None
    pruned = tuple(tuple(matrix[v][w] for w in keep) for v in keep)
    return pruned, tuple(ops[v] for v in keep)


def _num_edges(matrix: Sequence[Sequence[int]]) -> int:
    return sum(sum(row) for row in matrix)


def _edge_name(src: int, dst: int | str) -> str:
    return f"edge_{src}_{dst}"


class NB101Space(SearchSpace):
    """NAS-Bench-101: cells of up to 7 vertices and 9 edges, 423,624 unique up to isomorphism.

    **Parameters** (all categorical; inactive ones are left out):

    * ``num_intermediate`` in ``0..5``: number of operation vertices;
    * ``op_k`` (``k = 1..5``, active iff ``num_intermediate >= k``): ``conv3x3-bn-relu``,
      ``conv1x1-bn-relu`` or ``maxpool3x3``;
    * ``edge_i_j`` in ``(0, 1)`` for ``0 <= i < j <= 5`` (active iff ``num_intermediate >= j``): an
      edge from vertex ``i`` (0 = input) to intermediate vertex ``j``;
    * ``edge_i_out`` in ``(0, 1)`` for ``i = 0..5`` (active iff ``num_intermediate >= i``): an edge
      from vertex ``i`` to the output.

    A configuration is turned into its matrix, checked and pruned like the official
    ``nasbench.api.ModelSpec``; the 9-edge limit (which ConfigSpace cannot express) is checked
    there. The architecture holds the *pruned* cell ``(matrix, ops)`` (``ops`` includes ``input``
    and ``output``), so ``arch -> config -> arch`` is exact, while ``config -> arch -> config``
    is exact only for configurations without dangling vertices (vertices off every input->output
    path are dropped and the remaining ones renumbered).

    **String form**: the matrix rows as bit strings, then the operations, e.g.
    ``"0110,0001,0001,0000|input,conv3x3-bn-relu,maxpool3x3,output"``. :meth:`from_string` and
    :meth:`from_matrix` accept unpruned cells and prune them.

    **Key**: exactly the official NAS-Bench-101 module hash (``ModelSpec.hash_spec`` with the
    operation order ``conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3``), the key of the benchmark's
    tables, e.g. ``"00005c142e6f48ac74fdcf73e3439874"``.

    **Sampling** follows the benchmark's own random search: each of the 21 possible edges of a
    7-vertex cell is drawn with probability 1/2 and each operation uniformly, until the pruned cell
    is valid (this favours small pruned cells: about 1 in 200 samples keeps all 7 vertices).
    """

    name = "nb101"
    ops = NB101_OPS
    unified_ops = {
        "conv3x3-bn-relu": "conv3x3",
        "conv1x1-bn-relu": "conv1x1",
        "maxpool3x3": "max_pool_3x3",
    }
    max_nodes = MAX_VERTICES
    max_path_length = _MAX_INTERMEDIATE

    # ------------------------------------------------------------ parameters
    @cached_property
    def _params(self) -> tuple[Param, ...]:
        n_choices = tuple(range(_MAX_INTERMEDIATE + 1))

        def active_from(k: int) -> tuple[int, ...]:
            return tuple(range(k, _MAX_INTERMEDIATE + 1))

        out = [Param("num_intermediate", n_choices)]
        out += [Param(f"op_{k}", self.ops, "num_intermediate", active_from(k)) for k in range(1, 6)]
        for dst in range(1, _MAX_INTERMEDIATE + 1):
            out += [
                Param(_edge_name(src, dst), (0, 1), "num_intermediate", active_from(dst))
                for src in range(dst)
            ]
        out.append(Param(_edge_name(0, "out"), (0, 1)))
        out += [
            Param(_edge_name(src, "out"), (0, 1), "num_intermediate", active_from(src))
            for src in range(1, _MAX_INTERMEDIATE + 1)
        ]
        return tuple(out)

    @property
    def params(self) -> tuple[Param, ...]:
        """The categorical parameters (see the class docstring)."""
        return self._params

    def _spec_from_params(self, values: Mapping[str, Any]) -> Hashable:
        n = values["num_intermediate"]
        out = n + 1
        matrix = [[0] * (n + 2) for _ in range(n + 2)]
        for dst in range(1, n + 1):
            for src in range(dst):
                matrix[src][dst] = values[_edge_name(src, dst)]
        for src in range(n + 1):
            matrix[src][out] = values[_edge_name(src, "out")]
        ops = [_INPUT] + [values[f"op_{k}"] for k in range(1, n + 1)] + [_OUTPUT]
        return self._canonical(matrix, ops)

    def _params_from_spec(self, spec: Hashable) -> dict[str, Any]:
        matrix, ops = cast(Spec, spec)
        n = len(ops) - 2
        values: dict[str, Any] = {"num_intermediate": n}
        values |= {f"op_{k}": ops[k] for k in range(1, n + 1)}
        for dst in range(1, n + 1):
            for src in range(dst):
                values[_edge_name(src, dst)] = matrix[src][dst]
        for src in range(n + 1):
            values[_edge_name(src, "out")] = matrix[src][n + 1]
        return values

    # ------------------------------------------------------------ validation
    def _error(self, message: str) -> InvalidArchitectureError:
        return InvalidArchitectureError(message, space=self.name)

    def _canonical(self, matrix: list[list[int]], ops: list[str]) -> Spec:
        """Check a square 0/1 ``matrix`` and its ``ops``, prune, check the limits, return the spec."""
        n = len(matrix)
        if n < 2:
            raise self._error(f"a cell needs at least 2 vertices (input and output), got {n}.")
        if len(ops) != n:
            raise self._error(f"the matrix has {n} vertices but {len(ops)} operations were given.")
        for v in range(n):
            for w in range(v + 1):
                if matrix[v][w]:
                    what = (
                        f"self-loop at vertex {v}" if v == w else f"edge {v}->{w} points backwards"
                    )
                    raise self._error(
                        f"matrix must be strictly upper triangular (a DAG with its vertices in "
                        f"topological order), but it has a {what}."
                    )
        if ops[0] != _INPUT:
            raise self._error(f"the first operation must be 'input', got {ops[0]!r}.")
        if ops[-1] != _OUTPUT:
            raise self._error(f"the last operation must be 'output', got {ops[-1]!r}.")
        for v in range(1, n - 1):
            if ops[v] not in self.ops:
                raise self._error(
                    f"unknown operation {ops[v]!r} at vertex {v}; choose one of {list(self.ops)}."
                )
        spec = _prune(matrix, ops)
        if spec is None:
            raise self._error("disconnected cell: there is no path from the input to the output.")
        vertices, edges = len(spec[1]), _num_edges(spec[0])
        if vertices > MAX_VERTICES:
            raise self._error(
                f"the pruned cell has {vertices} vertices > {MAX_VERTICES} (input and output included)."
            )
        if edges > MAX_EDGES:
            raise self._error(f"the pruned cell has {edges} edges > {MAX_EDGES}.")
        return spec

    def _as_bit(self, value: Any, where: str) -> int:
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, numbers.Real) and value in (0, 1):
            return int(value)  # type: ignore[call-overload]  # typeshed: numbers.Real has no __int__
        raise self._error(f"matrix entries must be 0 or 1, got {value!r} at {where}.")

    def _as_matrix(self, matrix: Any) -> list[list[int]]:
        if isinstance(matrix, np.ndarray):
            if matrix.ndim != 2:
                raise self._error(
                    f"the adjacency matrix must be 2-dimensional, got shape {matrix.shape}."
                )
            matrix = matrix.tolist()
        if isinstance(matrix, (str, bytes)) or not isinstance(matrix, Iterable):
            raise self._error(
                f"expected a square 0/1 adjacency matrix, got {type(matrix).__name__}."
            )
        rows: list[list[int]] = []
        for i, row in enumerate(matrix):
            if isinstance(row, np.ndarray):
                row = row.tolist()
            if isinstance(row, (str, bytes)) or not isinstance(row, Iterable):
                raise self._error(f"row {i} of the adjacency matrix is not a sequence: {row!r}.")
            rows.append([self._as_bit(x, f"[{i}][{j}]") for j, x in enumerate(row)])
        for i, row in enumerate(rows):
            if len(row) != len(rows):
                raise self._error(
                    f"the adjacency matrix must be square: row {i} has {len(row)} entries, "
                    f"but there are {len(rows)} rows."
                )
        return rows

    def _as_ops(self, ops: Any) -> list[str]:
        if isinstance(ops, np.ndarray):
            ops = ops.tolist()
        if isinstance(ops, (str, bytes)) or not isinstance(ops, Iterable):
            raise self._error(f"expected a sequence of operation names, got {ops!r}.")
        out = list(ops)
        for i, op in enumerate(out):
            if not isinstance(op, str):
                raise self._error(f"operation {i} must be a name (str), got {op!r}.")
        return out

    # ------------------------------------------------------------ public API
    def from_matrix(self, matrix: Any, ops: Sequence[str]) -> Architecture:
        """Architecture of an adjacency matrix and its operation names (pruned like the benchmark).

        Args:
            matrix: ``V x V`` upper-triangular 0/1 matrix (row = source, vertex 0 = input,
                vertex ``V-1`` = output) as nested lists or a numpy array (ints or bools).
            ops: ``V`` official names: ``"input"``, intermediate operations of :attr:`ops`,
                ``"output"`` (a list or a numpy array of strings).

        Raises:
            InvalidArchitectureError: the matrix or the operations are malformed, the cell is
                disconnected or has more than 7 vertices or 9 edges after pruning. Unknown
                operation names are rejected even on vertices that pruning would remove (the
                official API only checks the vertices it keeps).
        """
        return Architecture(self, self._canonical(self._as_matrix(matrix), self._as_ops(ops)))

    def to_matrix(self, arch: Architecture) -> tuple[np.ndarray, list[str]]:
        """The pruned cell of ``arch`` as (``int64[V, V]`` adjacency matrix, list of ``V`` op names)."""
        matrix, ops = cast(Spec, self._check(arch).spec)
        return np.asarray(matrix, dtype=np.int64).reshape(len(ops), len(ops)), list(ops)

    # ------------------------------------------------------------ hooks
    def _key(self, spec: Hashable) -> str:
        """The official NAS-Bench-101 hash (``ModelSpec.hash_spec``) of the pruned cell."""
        matrix, ops = cast(Spec, spec)
        return _graph_hash(matrix, [_HASH_LABELS[op] for op in ops])

    def _to_string(self, spec: Hashable) -> str:
        matrix, ops = cast(Spec, spec)
        return ",".join("".join(map(str, row)) for row in matrix) + "|" + ",".join(ops)

    def _from_string(self, s: str) -> Hashable:
        example = "'0110,0001,0001,0000|input,conv3x3-bn-relu,maxpool3x3,output'"
        parts = s.strip().split("|")
        if len(parts) != 2:
            raise self._error(f"expected '<matrix rows>|<operations>' like {example}, got {s!r}.")
        rows = [r.strip() for r in parts[0].split(",")]
        matrix: list[list[int]] = []
        for i, row in enumerate(rows):
            if not row or any(c not in "01" for c in row):
                raise self._error(
                    f"row {i} of the matrix {row!r} is not a string of 0s and 1s (in {s!r})."
                )
        for i, row in enumerate(rows):
            if len(row) != len(rows):
                raise self._error(
                    f"the matrix must be square: row {i} {row!r} has {len(row)} entries, but there "
                    f"are {len(rows)} rows (in {s!r})."
                )
            matrix.append([int(c) for c in row])
        ops = [o.strip() for o in parts[1].split(",")]
        return self._canonical(matrix, ops)

    def _graph(self, spec: Hashable) -> ArchGraph:
        matrix, ops = cast(Spec, spec)
        tokens = (_INPUT,) + tuple(self.unified_ops[o] for o in ops[1:-1]) + (_OUTPUT,)
        n = len(ops)
        edges = tuple((v, w) for v in range(n) for w in range(v + 1, n) if matrix[v][w])
        return ArchGraph(tokens, edges)

    def _neighbor_specs(self, spec: Hashable) -> Iterable[Hashable]:
        """Flip one edge, change one operation, or put a new vertex on an edge (each op)."""
        matrix, ops = cast(Spec, spec)
        n = len(ops)
        base = [list(row) for row in matrix]

        def attempt(m: list[list[int]], o: list[str]) -> Spec | None:
            try:
                return self._canonical(m, o)
            except InvalidArchitectureError:
                return None

        candidates: list[Spec | None] = []
        for v in range(n):
            for w in range(v + 1, n):
                m = [row[:] for row in base]
                m[v][w] = 1 - m[v][w]
                candidates.append(attempt(m, list(ops)))
        for v in range(1, n - 1):
            for op in self.ops:
                if op != ops[v]:
                    candidates.append(attempt(base, list(ops[:v]) + [op] + list(ops[v + 1 :])))
        if n < MAX_VERTICES:
            for v in range(n):
                for w in range(v + 1, n):
                    if not base[v][w]:
                        continue
                    # new vertex k = v + 1 between v and w replaces the edge v->w by v->k->w
                    m = [row[: v + 1] + [0] + row[v + 1 :] for row in base]
                    m.insert(v + 1, [0] * (n + 1))
                    m[v][w + 1] = 0
                    m[v][v + 1] = 1
                    m[v + 1][w + 1] = 1
                    for op in self.ops:
                        candidates.append(
                            attempt(m, list(ops[: v + 1]) + [op] + list(ops[v + 1 :]))
                        )
        return [c for c in candidates if c is not None]

    def _sample_spec(self, rng: np.random.Generator) -> Hashable:
        n = MAX_VERTICES
        upper = [(v, w) for v in range(n) for w in range(v + 1, n)]
        for _ in range(10_000):
            bits = rng.integers(0, 2, size=len(upper))
            op_idx = rng.integers(0, len(self.ops), size=n - 2)
            matrix = [[0] * n for _ in range(n)]
            for (v, w), b in zip(upper, bits.tolist(), strict=True):
                matrix[v][w] = b
            ops = [_INPUT] + [self.ops[i] for i in op_idx.tolist()] + [_OUTPUT]
            spec = _prune(matrix, ops)
            if spec is not None and _num_edges(spec[0]) <= MAX_EDGES:
                return spec
        raise RuntimeError("could not sample a valid NAS-Bench-101 cell")  # pragma: no cover
