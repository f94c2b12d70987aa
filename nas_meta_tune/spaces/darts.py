"""The DARTS cell search space (Liu et al., ICLR 2019; https://arxiv.org/abs/1806.09055) and
NAS-Bench-301 (Siems et al., 2020; https://arxiv.org/abs/2008.09777).

A network stacks two kinds of cells, *normal* and *reduce*. Each cell has two inputs, ``0``
(c_{k-2}) and ``1`` (c_{k-1}), and four intermediate nodes ``2..5``; intermediate node ``n``
sums two operations applied to two *distinct* earlier nodes of ``{0, ..., n-1}``, and the cell's
output concatenates nodes ``2..5``. This is the space of DARTS genotypes, e.g.::

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5],
             reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ...], reduce_concat=[2, 3, 4, 5])

A spec is ``(normal, reduce)``, each a tuple of 8 ``(op, input)`` pairs in genotype order (node
2's two pairs, then node 3's, 4's, 5's), the two pairs of a node sorted by input.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple, cast

import numpy as np

from ..exceptions import InvalidArchitectureError
from ._base import ArchGraph, Architecture, Param, SearchSpace

__all__ = ["DARTSSpace", "Genotype", "DARTS_OPS", "NB301_OPS", "NASLIB_OPS"]

#: DARTS ``PRIMITIVES`` (order of the DARTS code base)
DARTS_OPS: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
#: NAS-Bench-301's operations: the DARTS primitives without ``none``
NB301_OPS: tuple[str, ...] = DARTS_OPS[1:]
#: op codes of NASLib's compact NB301 encoding (code = index)
NASLIB_OPS: tuple[str, ...] = NB301_OPS

_UNIFIED = {
    "none": "none",
    "max_pool_3x3": "max_pool_3x3",
    "avg_pool_3x3": "avg_pool_3x3",
    "skip_connect": "skip",
    "sep_conv_3x3": "sep_conv_3x3",
    "sep_conv_5x5": "sep_conv_5x5",
    "dil_conv_3x3": "dil_conv_3x3",
    "dil_conv_5x5": "dil_conv_5x5",
}

CELLS: tuple[str, str] = ("normal", "reduce")
#: intermediate nodes of a cell
NODES: tuple[int, ...] = (2, 3, 4, 5)
_CONCAT: tuple[int, ...] = NODES
#: all 2-subsets of earlier nodes, per intermediate node, as ``"i_j"`` (i < j)
_PAIRS: dict[int, tuple[str, ...]] = {
    n: tuple(f"{i}_{j}" for i, j in itertools.combinations(range(n), 2)) for n in NODES
}

Pair = tuple[str, int]
CellSpec = tuple[Pair, ...]
#: ``(normal, reduce)``
Spec = tuple[CellSpec, CellSpec]

# --- official string: Genotype(normal=[...], normal_concat=..., reduce=[...], reduce_concat=...)
_PAIR = r"""\(\s*(?:'[A-Za-z0-9_]*'|"[A-Za-z0-9_]*")\s*,\s*[0-9]{1,6}\s*(?:,\s*)?\)"""
_PAIR_RE = re.compile(
    r"""\(\s*(?:'([A-Za-z0-9_]*)'|"([A-Za-z0-9_]*)")\s*,\s*([0-9]{1,6})\s*(?:,\s*)?\)"""
)
_LIST = rf"[\[(]\s*(?:{_PAIR}(?:\s*,\s*{_PAIR})*(?:\s*,)?)?\s*[\])]"
_CONCAT_RE = r"range\s*\(\s*[0-9]{1,6}\s*,\s*[0-9]{1,6}\s*\)|[\[(][0-9\s,]*[\])]"
_GENOTYPE_RE = re.compile(
    rf"""^\s*Genotype\s*\(\s*
    (?:normal\s*=\s*)?(?P<normal>{_LIST})\s*,\s*
    (?:normal_concat\s*=\s*)?(?P<normal_concat>{_CONCAT_RE})\s*,\s*
    (?:reduce\s*=\s*)?(?P<reduce>{_LIST})\s*,\s*
    (?:reduce_concat\s*=\s*)?(?P<reduce_concat>{_CONCAT_RE})\s*(?:,\s*)?
    \)\s*$""",
    re.VERBOSE,
)
_WS_RE = re.compile(r"\s+")
_RANGE_RE = re.compile(r"^range\s*\(\s*([0-9]{1,6})\s*,\s*([0-9]{1,6})\s*\)$")


class Genotype(NamedTuple):
    """A DARTS genotype, as ``genotypes.Genotype`` of the DARTS code base (same fields, same repr).

    Attributes:
        normal: 8 ``(op, input)`` pairs of the normal cell, two per intermediate node 2..5.
        normal_concat: Nodes concatenated into the normal cell's output (always ``[2, 3, 4, 5]``).
        reduce: 8 ``(op, input)`` pairs of the reduction cell.
        reduce_concat: Nodes concatenated into the reduction cell's output (``[2, 3, 4, 5]``).
    """

    normal: list[tuple[str, int]]
    normal_concat: list[int]
    reduce: list[tuple[str, int]]
    reduce_concat: list[int]


@lru_cache(maxsize=8192)
def _graph_edges(
    offset: int, out_node: int, input_src: tuple[int, int], inputs: tuple[int, ...]
) -> tuple[tuple[int, int], ...]:
    """Edges of one cell's op nodes ``offset .. offset+7`` (spec order) and output ``out_node``.

    ``input_src[i]`` is the graph node that carries cell input ``i``; ``inputs`` are the 8 edges'
    input nodes (the topology only, so the result is cached).
    """
    edges = []
    for e, src in enumerate(inputs):
        if src < 2:
            edges.append((input_src[src], offset + e))
        else:
            # src is an intermediate node: every op node of an edge into src feeds this one
            edges += [(offset + f, offset + e) for f in range(2 * (src - 2), 2 * (src - 2) + 2)]
        edges.append((offset + e, out_node))
    return tuple(edges)


class DARTSSpace(SearchSpace):
    """The DARTS search space; ``variant="nb301"`` is NAS-Bench-301's version of it.

    Each of the two cells has 4 intermediate nodes with 2 distinct inputs and 2 operations each:
    ``(k**2 * 1 * 3 * 6 * 10)**2 ~ 1e18`` architectures for NAS-Bench-301's ``k = 7`` operations.

    **Parameters** follow the structure of NAS-Bench-301's ConfigSpace, with shorter names. For
    ``c`` in ``normal``, ``reduce``:

    * ``{c}_edge_0_2``, ``{c}_edge_1_2``: the operations of node 2 (whose inputs are always 0, 1);
    * ``{c}_inputs_node_{n}`` for ``n`` in 3, 4, 5: node ``n``'s two inputs, one of ``"0_1"``,
      ``"0_2"``, ``"1_2"``, ... (every pair ``"i_j"``, ``i < j < n``);
    * ``{c}_edge_{i}_{n}`` for ``i < n``: the operation on edge ``i -> n``, active iff ``i`` is
      one of the chosen inputs of node ``n``.

    Uniform sampling over these parameters is what NAS-Bench-301's ConfigSpace does.

    **Official string**: the ``repr`` of a DARTS ``Genotype`` (:meth:`to_string`); parsing
    accepts ``range(2, 6)`` for the concatenations and either order of a node's two pairs.
    :meth:`from_genotype`, :meth:`to_genotype` and :meth:`from_naslib` / :meth:`to_naslib`
    convert from and to DARTS genotypes and NASLib's compact encoding.

    **Key** (:meth:`key`): the cell as a labelled DAG, canonical up to relabelling its four
    intermediate nodes. The ``none`` operation (the DARTS ``Zero``) contributes a zero term, which
    is dropped (``x + 0 = x``); a node whose two terms are both zero is a zero node, written
    ``0``, and every zero node is the same source ``0`` for the nodes that read it (it has no
    parameters). Zeros are not propagated further: an operation applied to a zero node is the
    term ``<op>(0)``. A convolution block of a zero tensor is not zero (its BatchNorm shift),
    while pooling or ``skip_connect`` of zero is, so the key is an isomorphism key, finer than
    functional equivalence. For each of the 24 orders of nodes 2..5, the cell is written
    as the ``,``-joined list of its nodes in that order, each the sorted ``+``-join of its terms
    ``<op>(<input>)`` with inputs ``c0``, ``c1``, ``0`` or ``n<position>``; the key of a cell is
    the smallest of these strings, and the architecture's key is ``<normal key>||<reduce key>``.
    Two cells share a key exactly when one is a relabelling of the other (isomorphic DAGs; the
    concatenated output is equal up to a permutation of channels), including which of two
    identical nodes a later node reads and whether two later nodes share an input.

    **Graph** (:meth:`to_graph`, 20 nodes): the 2 inputs of the normal cell, its 8 op nodes
    (one per edge, in genotype order), its output, the 8 op nodes of the reduction cell (whose
    two inputs are both the normal cell's output) and its output. An op node on an edge into
    node ``n`` feeds every op node on an edge out of ``n``; every op node feeds its cell's
    output, since all intermediate nodes are concatenated. The path encoding uses one graph per
    cell (2 inputs, 8 op nodes, output).

    Args:
        variant: ``"darts"`` (the 8 DARTS primitives, including ``none``; name ``"darts"``) or
            ``"nb301"`` (NAS-Bench-301's 7 operations, without ``none``; name ``"nb301"``).

    Example:
        >>> from nas_meta_tune.spaces import get_space
        >>> space = get_space("nb301")
        >>> arch = space.sample(1, seed=0)[0]
        >>> space.from_string(arch.to_string()) == arch
        True
    """

    max_nodes = 20
    max_path_length = 4

    def __init__(self, variant: str = "darts") -> None:
        super().__init__()
        if variant not in ("darts", "nb301"):
            raise ValueError(f"variant must be 'darts' or 'nb301', but got {variant=}.")
        self.variant = variant
        self.name = variant
        self.ops = DARTS_OPS if variant == "darts" else NB301_OPS
        self.unified_ops = {op: _UNIFIED[op] for op in self.ops}
        self._params = self._build_params()

    # ------------------------------------------------------------------ params
    def _build_params(self) -> tuple[Param, ...]:
        params = []
        for c in CELLS:
            params += [Param(f"{c}_edge_0_2", self.ops), Param(f"{c}_edge_1_2", self.ops)]
            for n in NODES[1:]:
                parent = f"{c}_inputs_node_{n}"
                params.append(Param(parent, _PAIRS[n]))
                for i in range(n):
                    with_i = tuple(p for p in _PAIRS[n] if i in _pair_inputs(p))
                    params.append(
                        Param(f"{c}_edge_{i}_{n}", self.ops, parent=parent, parent_values=with_i)
                    )
        return tuple(params)

    @property
    def params(self) -> tuple[Param, ...]:
        """The categorical parameters (see the class docstring)."""
        return self._params

    def _spec_from_params(self, values: Mapping[str, Any]) -> Hashable:
        cells = []
        for c in CELLS:
            pairs: list[tuple[Any, Any]] = [
                (values[f"{c}_edge_0_2"], 0),
                (values[f"{c}_edge_1_2"], 1),
            ]
            for n in NODES[1:]:
                for i in _pair_inputs(values[f"{c}_inputs_node_{n}"]):
                    pairs.append((values[f"{c}_edge_{i}_{n}"], i))
            cells.append(pairs)
        return self._make(cells[0], cells[1])

    def _params_from_spec(self, spec: Hashable) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for c, cell in zip(CELLS, cast(Spec, spec), strict=True):
            out[f"{c}_edge_0_2"] = cell[0][0]
            out[f"{c}_edge_1_2"] = cell[1][0]
            for n in NODES[1:]:
                (op_a, a), (op_b, b) = cell[2 * (n - 2) : 2 * (n - 2) + 2]
                out[f"{c}_inputs_node_{n}"] = f"{a}_{b}"
                out[f"{c}_edge_{a}_{n}"] = op_a
                out[f"{c}_edge_{b}_{n}"] = op_b
        return out

    # --------------------------------------------------------------- validation
    def _make(self, normal: Any, reduce: Any) -> Hashable:
        """Validate two cells of ``(op, input)`` pairs and return the canonical spec."""
        return (self._make_cell(normal, "normal"), self._make_cell(reduce, "reduce"))

    def _make_cell(self, cell: Any, which: str) -> CellSpec:
        if isinstance(cell, (str, bytes)) or not isinstance(cell, Sequence):
            raise InvalidArchitectureError(
                f"the {which} cell must be a list of 8 (op, input) pairs, got {type(cell).__name__}.",
                space=self.name,
            )
        if len(cell) != 8:
            raise InvalidArchitectureError(
                f"the {which} cell needs 8 (op, input) pairs (2 per node 2..5), got {len(cell)}.",
                space=self.name,
            )
        out: list[Pair] = []
        for k, n in enumerate(NODES):
            node = [self._check_pair(p, n, which) for p in cell[2 * k : 2 * k + 2]]
            node.sort(key=lambda p: p[1])
            if node[0][1] == node[1][1]:
                raise InvalidArchitectureError(
                    f"node {n} of the {which} cell reads input {node[0][1]} twice; its two inputs "
                    f"must be distinct nodes of 0..{n - 1}.",
                    space=self.name,
                )
            out += node
        return tuple(out)

    def _check_pair(self, pair: Any, n: int, which: str) -> Pair:
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise InvalidArchitectureError(
                f"node {n} of the {which} cell: expected an (op, input) pair, got {pair!r}.",
                space=self.name,
            )
        op, src = pair
        if isinstance(op, np.str_):
            op = str(op)
        if not isinstance(op, str) or op not in self.ops:
            raise InvalidArchitectureError(
                f"node {n} of the {which} cell: unknown operation {op!r}; choose one of {list(self.ops)}.",
                space=self.name,
            )
        if (
            isinstance(src, (bool, np.bool_))
            or not isinstance(src, (int, np.integer))
            or not 0 <= src < n
        ):
            raise InvalidArchitectureError(
                f"node {n} of the {which} cell: input {src!r} is not a node of 0..{n - 1}.",
                space=self.name,
            )
        return (op, int(src))

    def _check_concat(self, concat: Any, which: str) -> None:
        ok = isinstance(concat, (Sequence, np.ndarray)) and not isinstance(concat, (str, bytes))
        if ok:
            items = list(concat)
            ok = len(items) == len(_CONCAT) and all(
                isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)) and x == n
                for x, n in zip(items, _CONCAT, strict=True)
            )
        if not ok:
            raise InvalidArchitectureError(
                f"{which}_concat must be [2, 3, 4, 5] (all intermediate nodes), got {concat!r}.",
                space=self.name,
            )

    # ---------------------------------------------------------- public helpers
    def from_genotype(self, normal: Any, reduce: Any = None) -> Architecture:
        """Architecture of a DARTS genotype.

        Args:
            normal: The normal cell's 8 ``(op, input)`` pairs (two per node 2..5, either order
                within a node), or a whole genotype (anything with ``normal``, ``reduce`` and
                optionally ``normal_concat``/``reduce_concat`` attributes, such as DARTS's own
                ``Genotype`` or :class:`Genotype`) when ``reduce`` is omitted.
            reduce: The reduction cell's 8 pairs.

        Raises:
            InvalidArchitectureError: a pair, an operation or an input is not valid.
        """
        if reduce is None:
            if not (hasattr(normal, "normal") and hasattr(normal, "reduce")):
                raise InvalidArchitectureError(
                    "pass the normal and reduce cells, or a Genotype with .normal and .reduce.",
                    space=self.name,
                )
            for which in CELLS:
                concat = getattr(normal, f"{which}_concat", None)
                if concat is not None:
                    self._check_concat(concat, which)
            normal, reduce = normal.normal, normal.reduce
        return Architecture(self, self._make(normal, reduce))

    def to_genotype(self, arch: Architecture) -> Genotype:
        """``arch`` as a :class:`Genotype` (its repr is the official string :meth:`to_string`)."""
        return self._genotype(self._check(arch).spec)

    def from_naslib(self, compact: Any) -> Architecture:
        """Architecture of NASLib's compact NAS-Bench-301 encoding.

        Args:
            compact: ``(normal, reduce)``, each 8 ``(input, op_code)`` pairs, two per node 2..5,
                with op codes ``0`` max_pool_3x3, ``1`` avg_pool_3x3, ``2`` skip_connect,
                ``3`` sep_conv_3x3, ``4`` sep_conv_5x5, ``5`` dil_conv_3x3, ``6`` dil_conv_5x5
                (NASLib's ``convert_compact_to_genotype``); or the string form of it, as stored
                in NASLib's data files (``"[[(0, 0), (1, 5), ...], [...]]"``), or an integer
                array of shape ``(2, 8, 2)``.

        Raises:
            InvalidArchitectureError: the encoding is malformed.
        """
        if isinstance(compact, str):
            try:
                compact = ast.literal_eval(compact.strip())
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise InvalidArchitectureError(
                    f"not a NASLib compact NB301 encoding like '[[(0, 3), (1, 3), ...], [...]]': {compact!r}.",
                    space=self.name,
                ) from None
        if isinstance(compact, np.ndarray):
            compact = compact.tolist()
        if (
            isinstance(compact, (str, bytes))
            or not isinstance(compact, Sequence)
            or len(compact) != 2
        ):
            raise InvalidArchitectureError(
                f"NASLib's compact encoding is (normal, reduce), got {compact!r}.", space=self.name
            )
        cells = []
        for which, cell in zip(CELLS, compact, strict=True):
            if isinstance(cell, (str, bytes)) or not isinstance(cell, Sequence):
                raise InvalidArchitectureError(
                    f"the {which} cell must be 8 (input, op_code) pairs, got {cell!r}.",
                    space=self.name,
                )
            pairs = []
            for pair in cell:
                if (
                    isinstance(pair, (str, bytes))
                    or not isinstance(pair, Sequence)
                    or len(pair) != 2
                ):
                    raise InvalidArchitectureError(
                        f"the {which} cell: expected an (input, op_code) pair, got {pair!r}.",
                        space=self.name,
                    )
                src, code = pair
                if (
                    isinstance(code, (bool, np.bool_))
                    or not isinstance(code, (int, np.integer))
                    or not 0 <= code < len(NASLIB_OPS)
                ):
                    raise InvalidArchitectureError(
                        f"the {which} cell: op code {code!r} is not one of 0..{len(NASLIB_OPS) - 1} "
                        f"({', '.join(NASLIB_OPS)}).",
                        space=self.name,
                    )
                pairs.append((NASLIB_OPS[int(code)], src))
            cells.append(pairs)
        return Architecture(self, self._make(cells[0], cells[1]))

    def to_naslib(
        self, arch: Architecture
    ) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """``arch`` in NASLib's compact NB301 encoding (inverse of :meth:`from_naslib`).

        Raises:
            InvalidArchitectureError: ``arch`` uses ``none``, which the encoding cannot express.
        """
        spec = cast(Spec, self._check(arch).spec)
        if any(op == "none" for cell in spec for op, _ in cell):
            raise InvalidArchitectureError(
                f"NASLib's compact encoding has no 'none' operation: {arch!r}.", space=self.name
            )
        normal, reduce = (tuple((src, NASLIB_OPS.index(op)) for op, src in cell) for cell in spec)
        return normal, reduce

    # ------------------------------------------------------------------ string
    def _genotype(self, spec: Hashable) -> Genotype:
        normal, reduce = cast(Spec, spec)
        return Genotype(list(normal), list(_CONCAT), list(reduce), list(_CONCAT))

    def _to_string(self, spec: Hashable) -> str:
        return repr(self._genotype(spec))

    def _from_string(self, s: str) -> Hashable:
        # whitespace only separates tokens (op names cannot hold any): collapsing its runs keeps
        # every \s* of the pattern to one character, so matching stays linear in len(s)
        m = _GENOTYPE_RE.match(_WS_RE.sub(" ", s))
        if not m:
            raise InvalidArchitectureError(
                "expected a DARTS genotype string like \"Genotype(normal=[('sep_conv_3x3', 0), "
                "('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5], reduce=[...], "
                f'reduce_concat=[2, 3, 4, 5])", got {_short(s)}.',
                space=self.name,
            )
        for which in CELLS:
            self._check_concat(_parse_concat(m.group(f"{which}_concat")), which)
        # findall gives '' for the quote style that did not match
        cells = [[(a or b, int(src)) for a, b, src in _PAIR_RE.findall(m.group(w))] for w in CELLS]
        return self._make(cells[0], cells[1])

    # --------------------------------------------------------------------- key
    def _key(self, spec: Hashable) -> str:
        return "||".join(_cell_key(cell) for cell in cast(Spec, spec))

    # ------------------------------------------------------------------- graph
    def _graph(self, spec: Hashable) -> ArchGraph:
        normal, reduce = cast(Spec, spec)
        ops = (
            ("input", "input")
            + tuple(self.unified_ops[op] for op, _ in normal)
            + ("output",)
            + tuple(self.unified_ops[op] for op, _ in reduce)
            + ("output",)
        )
        edges = _graph_edges(2, 10, (0, 1), tuple(i for _, i in normal)) + _graph_edges(
            11, 19, (10, 10), tuple(i for _, i in reduce)
        )
        return ArchGraph(ops, tuple(sorted(edges)))

    def _path_graphs(self, spec: Hashable) -> list[ArchGraph]:
        return [
            ArchGraph(
                ("input", "input") + tuple(self.unified_ops[op] for op, _ in cell) + ("output",),
                tuple(sorted(_graph_edges(2, 10, (0, 1), tuple(i for _, i in cell)))),
            )
            for cell in cast(Spec, spec)
        ]

    # --------------------------------------------------------------- neighbours
    def _neighbor_specs(self, spec: Hashable) -> Iterable[Hashable]:
        """Change the operation of one edge, or one input of one node (keeping its operation)."""
        cells = cast(Spec, spec)
        for c, cell in enumerate(cells):
            for e, (op, src) in enumerate(cell):
                for new_op in self.ops:
                    if new_op != op:
                        yield _replace(cells, c, e, (new_op, src))
            for k, n in enumerate(NODES):
                node = cell[2 * k : 2 * k + 2]
                for e in (0, 1):
                    op, src = node[e]
                    other = node[1 - e][1]
                    for new_src in range(n):
                        if new_src not in (src, other):
                            yield _replace(cells, c, 2 * k + e, (op, new_src))

    def _enumerate_specs(self) -> Iterator[Hashable] | None:
        return None  # ~1e18 architectures


def _pair_inputs(pair: str) -> tuple[int, int]:
    a, b = pair.split("_")
    return int(a), int(b)


def _parse_concat(text: str) -> Any:
    m = _RANGE_RE.match(text)
    if m:
        start, stop = int(m.group(1)), int(m.group(2))
        return list(range(start, stop)) if 0 <= stop - start <= len(_CONCAT) else text
    body = text[1:-1].strip().rstrip(",")
    try:
        return [int(x) for x in body.split(",")] if body else []
    except ValueError:
        return text


def _short(s: str, limit: int = 200) -> str:
    return repr(s if len(s) <= limit else s[:limit] + "...")


@lru_cache(maxsize=1 << 16)
def _cell_key(cell: CellSpec) -> str:
    """The canonical form of a cell up to relabelling its intermediate nodes (see the class doc)."""
    terms = {
        n: [(op, src) for op, src in cell[2 * k : 2 * k + 2] if op != "none"]
        for k, n in enumerate(NODES)
    }
    zero = {n for n in NODES if not terms[n]}
    best = ""
    for order in itertools.permutations(NODES):  # order[i] is the node relabelled 2 + i
        label = {0: "c0", 1: "c1"} | {
            n: "0" if n in zero else f"n{2 + i}" for i, n in enumerate(order)
        }
        form = ",".join(
            "+".join(sorted(f"{op}({label[src]})" for op, src in terms[n])) or "0" for n in order
        )
        if not best or form < best:
            best = form
    return best


def _replace(spec: Spec, c: int, e: int, pair: Pair) -> Hashable:
    """``spec`` with pair ``e`` of cell ``c`` replaced (the node's pairs re-sorted by input)."""
    cell = list(spec[c])
    cell[e] = pair
    k = e // 2
    cell[2 * k : 2 * k + 2] = sorted(cell[2 * k : 2 * k + 2], key=lambda p: p[1])
    out = list(spec)
    out[c] = tuple(cell)
    return tuple(out)
