"""Your own search space, declared from a ConfigSpace or a dict of Optuna distributions.

>>> from ConfigSpace import Categorical, ConfigurationSpace
>>> from nas_meta_tune.spaces import from_configspace
>>> cs = ConfigurationSpace({"block1": ["mbconv_k3_e3", "mbconv_k5_e6", "skip"],
...                          "block2": ["mbconv_k3_e3", "mbconv_k5_e6", "skip"]})
>>> space = from_configspace(cs, name="my_mobilenet")
>>> len(space.enumerate())
9

The result is a full :class:`~nas_meta_tune.spaces.SearchSpace`: ``suggest(trial)``,
the Ray / Syne views (``nas_meta_tune.integrations``), ``sample``, ``mutate``, ``neighbors``, ``key``, ``enumerate``
(when it has at most ``enumerate_limit`` configurations), and it pickles without registration, so
Ray workers and other processes rebuild it from the pickle.

Every architecture becomes a node-op graph the meta-predictor reads. By default a chain
``input -> one node per active parameter (its value as the operation) -> output``; pass
``graph(params) -> (ops, edges)`` to describe the network yourself (``ops``: operation names in
topological order, node 0 the input, the last the output; ``edges``: ``(src, dst)`` pairs with
``src < dst``). Operation names are free text, resolved to the unified vocabulary by
:func:`~nas_meta_tune.spaces.ops.resolve_op` (exact tokens, the benchmarks' official names, and a
documented grammar: ``mbconv_k5_e6``, ``sep_conv_3x3``, ``dw5x5``, ``dil_conv_3x3``,
``maxpool``, ``identity``, ``zero``, ``linear``, ``gcn``...), and the name's descriptors (kernel,
expansion, dilation, groups/heads: :func:`~nas_meta_tune.spaces.ops.describe_op`) are fed to the
predictor beside the token. A name nothing matches becomes the ``unknown`` token, with a warning at
construction that names the parameter, the value and the fix (``ops={"myop": "conv3x3"}``).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..exceptions import InvalidArchitectureError
from ._base import ArchGraph, Param, SearchSpace
from .ops import OP_INDEX, UNKNOWN, resolve_op

if TYPE_CHECKING:
    import ConfigSpace

__all__ = ["DeclaredSpace", "from_configspace", "from_distributions"]

#: ``((name, value), ...)`` of the active parameters, in declaration order
Spec = tuple[tuple[str, Any], ...]
GraphFn = Callable[[Mapping[str, Any]], tuple[Sequence[str], Sequence[tuple[int, int]]]]
_MAX_VALUES = 256  # an integer parameter with more values is not an architecture choice


def _values_of(hp: Any) -> tuple[Any, ...]:
    """The choices of a ConfigSpace hyperparameter (categorical, ordinal, integer, constant)."""
    kind = type(hp).__name__
    if hasattr(hp, "choices"):
        return tuple(hp.choices)
    if hasattr(hp, "sequence"):
        return tuple(hp.sequence)
    if kind == "Constant":
        return (hp.value,)
    if kind.endswith("IntegerHyperparameter"):
        lo, hi = int(hp.lower), int(hp.upper)
        if getattr(hp, "log", False) or hi - lo + 1 > _MAX_VALUES:
            raise InvalidArchitectureError(
                f"parameter {hp.name!r}: an integer range [{lo}, {hi}]{' on a log scale' if getattr(hp, 'log', False) else ''} "
                f"is not an architecture choice (at most {_MAX_VALUES} values); tune it as a "
                "hyperparameter next to the architecture (trial.suggest_int), or list its values "
                "as an ordinal.",
            )
        return tuple(range(lo, hi + 1))
    raise InvalidArchitectureError(
        f"parameter {hp.name!r} is a {kind}: architecture parameters must be categorical, "
        "ordinal, integer or constant; tune continuous ones as hyperparameters next to the "
        "architecture (trial.suggest_float)."
    )


def _parents(cs: Any) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """``{child: (parent, parent values)}`` of the ConfigSpace's conditions."""
    out: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for cond in cs.conditions:
        kind = type(cond).__name__
        if kind == "EqualsCondition":
            out[cond.child.name] = (cond.parent.name, (cond.value,))
        elif kind == "InCondition":
            out[cond.child.name] = (cond.parent.name, tuple(cond.values))
        else:
            raise InvalidArchitectureError(
                f"condition on {getattr(cond, 'child', None) and cond.child.name!r}: {kind} is not "
                "supported; use EqualsCondition or InCondition (one parent per parameter)."
            )
    return out


class DeclaredSpace(SearchSpace):
    """A search space declared by the user (see :func:`from_configspace`).

    Args:
        params: The architecture parameters, parents before children.
        name: A name unique among the spaces you use (caches are keyed by it).
        graph: ``graph(params) -> (ops, edges)`` (default: the chain, see the module doc).
        ops: Extra ``{operation name: unified token}`` for names :func:`resolve_op` does not
            know.
        forbidden: ``forbidden(params) -> bool``: True for value combinations the space excludes.
        configspace: The ConfigurationSpace it was declared from (kept for :attr:`configspace`).
        enumerate_limit: Enumerate the space (score all of it) when it has at most this many
            configurations.
    """

    def __init__(
        self,
        params: Sequence[Param],
        *,
        name: str,
        graph: GraphFn | None = None,
        ops: Mapping[str, str] | None = None,
        forbidden: Callable[[Mapping[str, Any]], bool] | None = None,
        configspace: Any = None,
        enumerate_limit: int = 100_000,
    ) -> None:
        super().__init__()
        if not name or not isinstance(name, str):
            raise ValueError(f"a declared space needs a name (a non-empty str), got {name!r}.")
        self.name = name
        self._params = tuple(params)
        if not self._params:
            raise InvalidArchitectureError("a search space needs at least one parameter.")
        seen: set[str] = set()
        for p in self._params:
            if p.name in seen:
                raise InvalidArchitectureError(f"parameter {p.name!r} is declared twice.")
            if p.parent is not None and p.parent not in seen:
                raise InvalidArchitectureError(
                    f"parameter {p.name!r} is conditioned on {p.parent!r}, which is not declared "
                    "before it."
                )
            if not p.choices:
                raise InvalidArchitectureError(f"parameter {p.name!r} has no choices.")
            seen.add(p.name)
        self._graph_fn = graph
        self._extra_ops = dict(ops or {})
        for op, token in self._extra_ops.items():
            if token not in OP_INDEX:
                raise InvalidArchitectureError(
                    f"ops[{op!r}] = {token!r} is not a unified token; choose one of {sorted(OP_INDEX)}."
                )
        self._forbidden = forbidden
        self._cs = configspace
        self._enumerate_limit = int(enumerate_limit)
        self._official: dict[str, str] = {}
        self._validate_graphs()

    # ------------------------------------------------------------------ hooks
    @property
    def params(self) -> tuple[Param, ...]:
        """The declared parameters."""
        return self._params

    def _spec_from_params(self, values: Mapping[str, Any]) -> Hashable:
        if self._forbidden is not None and self._forbidden(values):
            raise InvalidArchitectureError(
                f"{dict(values)} is a forbidden combination of this space.", space=self.name
            )
        return tuple((p.name, values[p.name]) for p in self._active(values))

    def _params_from_spec(self, spec: Hashable) -> dict[str, Any]:
        return dict(cast(Spec, spec))

    def _key(self, spec: Hashable) -> str:
        return self._to_string(spec)

    def _to_string(self, spec: Hashable) -> str:
        return json.dumps(dict(cast(Spec, spec)), sort_keys=False, separators=(",", ":"))

    def _from_string(self, s: str) -> Hashable:
        try:
            values = json.loads(s)
        except (TypeError, json.JSONDecodeError) as exc:
            raise InvalidArchitectureError(
                f"{s!r} is not this space's string form (a JSON object of parameter values).",
                space=self.name,
            ) from exc
        if not isinstance(values, dict):
            raise InvalidArchitectureError(f"{s!r} is not a JSON object.", space=self.name)
        return self._spec_from_params(self._values(values, strict=True))

    def _raw_graph(self, values: Mapping[str, Any]) -> tuple[list[str], list[tuple[int, int]]]:
        if self._graph_fn is None:
            names = [str(values[p.name]) for p in self._active(values)]
            ops = ["input", *names, "output"]
            return ops, [(i, i + 1) for i in range(len(ops) - 1)]
        graph_ops, edges = self._graph_fn(dict(values))
        return [str(o) for o in graph_ops], [(int(a), int(b)) for a, b in edges]

    def _token(self, op: str, where: str) -> str:
        if op in self._extra_ops:
            return self._extra_ops[op]
        token = resolve_op(op)
        if token is None:
            if op not in self._official:
                warnings.warn(
                    f"space {self.name!r}, {where}: operation {op!r} matches no token of the "
                    "unified vocabulary or its naming grammar (nas_meta_tune.spaces.ops.resolve_op); "
                    "the predictor reads it as 'unknown' plus whatever its name describes. Map it "
                    f"yourself with ops={{{op!r}: '<token>'}} (tokens: {', '.join(sorted(OP_INDEX))}) "
                    "if one fits.",
                    UserWarning,
                    stacklevel=2,
                )
            return UNKNOWN
        return token

    def _graph(self, spec: Hashable) -> ArchGraph:
        values = dict(cast(Spec, spec))
        ops, edges = self._raw_graph(values)
        tokens = []
        for i, op in enumerate(ops):
            if i == 0 and op == "input" or i == len(ops) - 1 and op == "output":
                tokens.append(op)
                continue
            where = (
                f"parameter {self._params[i - 1].name!r} = {op!r}"
                if self._graph_fn is None
                else f"node {i} of graph({values})"
            )
            tokens.append(self._token(op, where))
            self._official.setdefault(op, tokens[-1])
        try:
            return ArchGraph(tuple(tokens), tuple(edges), names=tuple(ops))
        except ValueError as exc:
            raise InvalidArchitectureError(f"graph({values}): {exc}", space=self.name) from exc

    def _enumerate_specs(self) -> Iterator[Hashable] | None:
        if self._size_bound() > self._enumerate_limit:
            return None
        return iter(self._all_specs())

    def _all_specs(self) -> list[Hashable]:
        specs: list[Hashable] = []

        def rec(i: int, values: dict[str, Any]) -> None:
            if i == len(self._params):
                try:
                    specs.append(self._spec_from_params(values))
                except InvalidArchitectureError:
                    pass
                return
            p = self._params[i]
            if p.parent is not None and values.get(p.parent) not in p.parent_values:
                rec(i + 1, values)
                return
            for c in p.choices:
                values[p.name] = c
                rec(i + 1, values)
                del values[p.name]

        rec(0, {})
        return specs

    def _size_bound(self) -> int:
        total = 1
        for p in self._params:
            total *= len(p.choices) + (p.parent is not None)
        return total

    # ------------------------------------------------------------------ properties
    @property
    def ops(self) -> tuple[str, ...]:  # type: ignore[override]
        """The operation names met so far, in first-seen order."""
        return tuple(self._official)

    @property
    def unified_ops(self) -> Mapping[str, str]:  # type: ignore[override]
        """Operation name -> unified token, for the names in :attr:`ops`."""
        return dict(self._official)

    def _validate_graphs(self) -> None:
        """Build the graphs of every value each parameter can take (the default chain) or of a
        sample (a custom ``graph``), so that unknown operations and malformed graphs fail now,
        naming the parameter or node, not at the first trial."""
        if self._graph_fn is None:
            for p in self._params:
                for c in p.choices:
                    self._official.setdefault(
                        str(c), self._token(str(c), f"parameter {p.name!r} = {c!r}")
                    )
        rng = np.random.default_rng(0)
        sizes, paths = [], []
        specs = (
            self._all_specs()
            if self._size_bound() <= 2_000
            else [self._sample_spec(rng) for _ in range(200)]
        )
        for spec in specs:
            g = self._graph(spec)
            sizes.append(g.num_nodes)
            paths.append(g.num_nodes - 2)
        self.max_nodes = max(sizes) if self._graph_fn is None else 2 * max(sizes)
        self.max_path_length = (
            max(max(paths), 1) if self._graph_fn is None else 2 * max(max(paths), 1)
        )

    @property
    def local_ops(self) -> tuple[str, ...]:
        """Unified tokens of :attr:`ops`, ``input`` and ``output`` first."""
        toks = ["input", "output", *self._official.values()]
        return tuple(dict.fromkeys(toks))

    @property
    def configspace(self) -> ConfigSpace.ConfigurationSpace:
        """The ConfigurationSpace it was declared from, else one built from :attr:`params`."""
        if self._cs is not None:
            return self._cs
        # mypy reads a cached_property on the class as its function; at runtime it has .func
        return SearchSpace.configspace.func(self)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ pickling
    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # rebuilt from its declaration: no registration needed in another process (graph,
        # forbidden and ops must themselves pickle: module-level functions, dicts)
        return (
            _rebuild,
            (
                self._params,
                self.name,
                self._graph_fn,
                self._extra_ops,
                self._forbidden,
                self._cs,
                self._enumerate_limit,
            ),
        )


def _rebuild(params, name, graph, ops, forbidden, cs, limit) -> DeclaredSpace:  # noqa: ANN001
    return DeclaredSpace(
        params,
        name=name,
        graph=graph,
        ops=ops,
        forbidden=forbidden,
        configspace=cs,
        enumerate_limit=limit,
    )


def _default_name(kind: str, payload: str) -> str:
    return f"{kind}-{hashlib.sha256(payload.encode()).hexdigest()[:10]}"


def from_configspace(
    cs: Any,
    *,
    name: str | None = None,
    graph: GraphFn | None = None,
    ops: Mapping[str, str] | None = None,
    enumerate_limit: int = 100_000,
) -> DeclaredSpace:
    """A search space from a ``ConfigSpace.ConfigurationSpace`` of architecture parameters.

    Categorical, ordinal, integer (at most 256 values) and constant hyperparameters; conditions
    (``EqualsCondition``, ``InCondition``) and forbidden clauses are honoured.

    Args:
        cs: The configuration space.
        name: Unique name (default: derived from the space's content).
        graph: ``graph(params) -> (ops, edges)``; default: the chain of the parameters' values.
        ops: Extra ``{operation name: unified token}``.
        enumerate_limit: Enumerate (and score whole) spaces up to this many configurations.

    Raises:
        InvalidArchitectureError: an unsupported parameter or condition, or an operation that
            resolves to no unified token (the message names it and the fix).
    """
    parents = _parents(cs)
    hps = list(cs.values()) if hasattr(cs, "values") else list(cs.get_hyperparameters())
    by_name = {hp.name: hp for hp in hps}
    order: list[str] = []

    def visit(n: str) -> None:
        if n in order:
            return
        if n in parents:
            visit(parents[n][0])
        order.append(n)

    for hp in hps:
        visit(hp.name)
    params = []
    for n in order:
        parent, pvals = parents.get(n, (None, ()))
        params.append(Param(n, _values_of(by_name[n]), parent, pvals))
    forbidden = None
    if list(cs.forbidden_clauses):
        forbidden = _ForbiddenCheck(cs)
    return DeclaredSpace(
        params,
        name=name or _default_name("configspace", str(cs)),
        graph=graph,
        ops=ops,
        forbidden=forbidden,
        configspace=cs,
        enumerate_limit=enumerate_limit,
    )


class _ForbiddenCheck:
    """``forbidden(values)`` from a ConfigSpace's forbidden clauses (picklable)."""

    def __init__(self, cs: Any) -> None:
        self.cs = cs

    def __call__(self, values: Mapping[str, Any]) -> bool:
        vals = dict(values)
        for clause in self.cs.forbidden_clauses:
            try:
                if clause.is_forbidden_value(vals):
                    return True
            except (KeyError, AttributeError):  # a clause on an inactive parameter
                continue
        return False


def from_distributions(
    distributions: Mapping[str, Any],
    *,
    name: str | None = None,
    graph: GraphFn | None = None,
    ops: Mapping[str, str] | None = None,
    enumerate_limit: int = 100_000,
) -> DeclaredSpace:
    """A search space from ``{name: distribution}`` as Optuna writes them
    (``CategoricalDistribution(choices)``, ``IntDistribution(low, high, step=...)``; any object
    with ``choices``, or ``low`` / ``high`` and an optional ``step``). Optuna is not imported."""
    params = []
    for n, d in distributions.items():
        if hasattr(d, "choices"):
            params.append(Param(n, tuple(d.choices)))
        elif (
            hasattr(d, "low")
            and hasattr(d, "high")
            and float(d.low).is_integer()
            and (getattr(d, "step", 1) is not None)
            and not getattr(d, "log", False)
        ):
            step = int(getattr(d, "step", 1) or 1)
            values = tuple(range(int(d.low), int(d.high) + 1, step))
            if len(values) > _MAX_VALUES:
                raise InvalidArchitectureError(
                    f"parameter {n!r}: {len(values)} integer values is not an architecture choice "
                    f"(at most {_MAX_VALUES}); tune it as a hyperparameter next to the architecture."
                )
            params.append(Param(n, values))
        else:
            raise InvalidArchitectureError(
                f"parameter {n!r}: {d!r} is not categorical or integer; tune continuous ones as "
                "hyperparameters next to the architecture (trial.suggest_float)."
            )
    payload = json.dumps({p.name: [str(c) for c in p.choices] for p in params}, sort_keys=True)
    return DeclaredSpace(
        params,
        name=name or _default_name("distributions", payload),
        graph=graph,
        ops=ops,
        enumerate_limit=enumerate_limit,
    )
