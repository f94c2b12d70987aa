"""Search-space base classes: :class:`SearchSpace`, :class:`Architecture`, :class:`ArchGraph`.

A space is described once, by a flat list of categorical :class:`Param` (with optional
conditions), and every framework view derives from that list: the ConfigSpace space, Optuna's
define-by-run ``suggest(trial)``, Ray Tune's ``param_space`` and Syne Tune's ``config_space``.
A subclass only says how parameter values map to an architecture *spec* (a hashable tuple in the
benchmark's own terms) and back, how a spec is validated, keyed, printed and drawn as a graph.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from .._rng import as_generator
from ..exceptions import InvalidArchitectureError, SpaceMismatchError
from .ops import NODE_FEATURES, OP_INDEX, VOCABULARY, node_features

if TYPE_CHECKING:
    import ConfigSpace
    import torch_geometric.data

__all__ = ["Param", "ArchGraph", "Architecture", "SearchSpace"]


@dataclass(frozen=True)
class Param:
    """One categorical hyperparameter of a search space.

    Args:
        name: Parameter name, identical in ConfigSpace, Optuna, Ray Tune and Syne Tune.
        choices: Allowed values (all ``str`` or all ``int``).
        parent: Name of the parameter this one is conditioned on, if any.
        parent_values: The parameter is active iff ``parent`` takes one of these values.
    """

    name: str
    choices: tuple[Any, ...]
    parent: str | None = None
    parent_values: tuple[Any, ...] = ()

    def coerce(self, value: Any, space: str) -> Any:
        """Return ``value`` as one of :attr:`choices` (``"3"``/``np.int64(3)`` -> ``3``) or raise."""
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            if value in self.choices and type(value) is type(self.choices[0]):
                return value
            if isinstance(self.choices[0], int):
                try:
                    as_int = int(value)
                    if (
                        as_int == value or str(as_int) == str(value).strip()
                    ) and as_int in self.choices:
                        return as_int
                except (TypeError, ValueError, OverflowError):
                    pass
        raise InvalidArchitectureError(
            f"{self.name}={value!r} is not allowed; choose one of {list(self.choices)}.",
            space=space,
        )


@dataclass(frozen=True)
class ArchGraph:
    """A node-op DAG over the unified vocabulary (:mod:`nas_meta_tune.spaces.ops`).

    Attributes:
        ops: Unified token of every node, in topological order (node 0 is an ``input``).
        edges: Directed edges ``(src, dst)`` with ``src < dst``.
        names: The operation of every node as its space names it, when that says more than the
            token (``mbconv_k5_e6`` for the token ``sep_conv_5x5``); its descriptors
            (:func:`~nas_meta_tune.spaces.ops.describe_op`) are part of the node features.
            ``None``: the tokens themselves.
    """

    ops: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for op in self.ops:
            if op not in OP_INDEX:
                raise ValueError(f"{op!r} is not a unified operation token.")
        if self.names is not None and len(self.names) != len(self.ops):
            raise ValueError(
                f"names has {len(self.names)} entries for a graph of {len(self.ops)} nodes."
            )
        n = len(self.ops)
        for s, d in self.edges:
            if not (0 <= s < d < n):
                raise ValueError(f"edge {(s, d)} is not forward in a graph of {n} nodes.")

    @property
    def num_nodes(self) -> int:
        return len(self.ops)

    @cached_property
    def op_indices(self) -> np.ndarray:
        """``int64[num_nodes]`` indices into the unified vocabulary."""
        return np.fromiter((OP_INDEX[o] for o in self.ops), dtype=np.int64, count=len(self.ops))

    @cached_property
    def edge_index(self) -> np.ndarray:
        """``int64[2, num_edges]`` in PyG's layout."""
        if not self.edges:
            return np.zeros((2, 0), dtype=np.int64)
        return np.asarray(self.edges, dtype=np.int64).T.copy()

    def adjacency(self) -> np.ndarray:
        """``int8[num_nodes, num_nodes]`` adjacency matrix (row = source)."""
        adj = np.zeros((self.num_nodes, self.num_nodes), dtype=np.int8)
        for s, d in self.edges:
            adj[s, d] = 1
        return adj

    def one_hot(self) -> np.ndarray:
        """``float32[num_nodes, len(VOCABULARY)]`` one-hot tokens."""
        x = np.zeros((self.num_nodes, len(VOCABULARY)), dtype=np.float32)
        x[np.arange(self.num_nodes), self.op_indices] = 1.0
        return x

    @cached_property
    def features(self) -> np.ndarray:
        """``float32[num_nodes, NODE_FEATURES]``: each node's token one-hot and descriptors
        (:func:`~nas_meta_tune.spaces.ops.node_features`), the predictor's input."""
        if not self.ops:
            return np.zeros((0, NODE_FEATURES), dtype=np.float32)
        names = self.names or self.ops
        return np.stack([node_features(t, n) for t, n in zip(self.ops, names)])


class Architecture:
    """One architecture of a :class:`SearchSpace` (immutable, hashable, picklable).

    Create architectures through the space (``space.to_arch(config)``, ``space.from_string(s)``,
    ``space.sample(n)``), never directly. Two architectures are equal iff they have the same space
    and the same spec; isomorphic but differently written cells are different architectures with
    the same :attr:`key`.
    """

    __slots__ = ("space", "spec", "_hash", "_key")

    space: SearchSpace
    spec: Hashable
    _hash: int
    _key: str  # set on first use of :attr:`key`

    def __init__(self, space: SearchSpace, spec: Hashable) -> None:
        object.__setattr__(self, "space", space)
        object.__setattr__(self, "spec", spec)
        object.__setattr__(self, "_hash", hash((space.name, spec)))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Architecture is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Architecture):
            return NotImplemented
        return self.spec == other.spec and self.space.name == other.space.name

    def __hash__(self) -> int:
        return self._hash

    def __getstate__(self) -> tuple[SearchSpace, Hashable]:
        return (self.space, self.spec)

    def __setstate__(self, state: tuple[SearchSpace, Hashable]) -> None:
        space, spec = state
        object.__setattr__(self, "space", space)
        object.__setattr__(self, "spec", spec)
        object.__setattr__(self, "_hash", hash((space.name, spec)))

    def __repr__(self) -> str:
        return f"Architecture({self.space.name}, {self.to_string()!r})"

    @property
    def key(self) -> str:
        """Canonical, isomorphism-invariant key (the benchmark's convention, see the space)."""
        try:
            return self._key
        except AttributeError:  # computed once per object (architectures are immutable)
            k = self.space.key(self)
            object.__setattr__(self, "_key", k)
            return k

    def to_string(self) -> str:
        """The benchmark's official string form."""
        return self.space.to_string(self)

    def to_params(self) -> dict[str, Any]:
        """Flat dict of the active parameters (what Optuna/Ray/Syne hand back)."""
        return self.space.to_params(self)

    def to_config(self) -> ConfigSpace.Configuration:
        """The architecture as a ``ConfigSpace.Configuration`` of ``space.configspace``."""
        return self.space.to_config(self)

    def to_graph(self) -> ArchGraph:
        """Node-op DAG over the unified vocabulary."""
        return self.space.to_graph(self)

    def to_pyg(self) -> torch_geometric.data.Data:
        """``torch_geometric.data.Data`` with the predictor's node features (token one-hot, then
        descriptors: :func:`~nas_meta_tune.spaces.ops.node_features`)."""
        import torch
        from torch_geometric.data import Data

        g = self.to_graph()
        return Data(
            x=torch.from_numpy(g.features.copy()),
            edge_index=torch.from_numpy(g.edge_index),
            op_index=torch.from_numpy(g.op_indices.copy()),
        )


class SearchSpace(ABC):
    """Base class of all NAS search spaces.

    Subclasses define :attr:`name`, :attr:`ops` (official operation names), :attr:`unified_ops`
    (official name -> unified token), :attr:`params`, and the ``_spec_*`` hooks. Everything a user
    calls is implemented here once.
    """

    #: registry name, e.g. ``"nb201"``
    name: str = ""
    #: official operation names of the space
    ops: tuple[str, ...] = ()
    #: official op name -> token of the unified vocabulary
    unified_ops: Mapping[str, str] = {}
    #: upper bound on the number of nodes of :meth:`to_graph`
    max_nodes: int = 0
    #: maximum number of operations on an input->output path (for the path encoding)
    max_path_length: int = 0

    _GRAPH_CACHE_SIZE = 200_000

    def __init__(self) -> None:
        self._graph_cache: dict[Hashable, ArchGraph] = {}
        self._key_cache: dict[Hashable, str] = {}

    # ------------------------------------------------------------------ hooks
    @property
    @abstractmethod
    def params(self) -> tuple[Param, ...]:
        """The categorical parameters, parents before children."""

    @abstractmethod
    def _spec_from_params(self, values: Mapping[str, Any]) -> Hashable:
        """Build a spec from the (validated, coerced) active parameter values."""

    @abstractmethod
    def _params_from_spec(self, spec: Hashable) -> dict[str, Any]:
        """Active parameter values of a spec (inverse of :meth:`_spec_from_params`)."""

    @abstractmethod
    def _key(self, spec: Hashable) -> str:
        """Canonical isomorphism-invariant key of a valid spec."""

    @abstractmethod
    def _to_string(self, spec: Hashable) -> str:
        """Official string form of a spec."""

    @abstractmethod
    def _from_string(self, s: str) -> Hashable:
        """Parse the official string form (raise ``InvalidArchitectureError`` when malformed)."""

    @abstractmethod
    def _graph(self, spec: Hashable) -> ArchGraph:
        """Node-op DAG of a spec over the unified vocabulary."""

    def _enumerate_specs(self) -> Iterator[Hashable] | None:
        """Every spec of a finite, small space (``None`` if the space is too large)."""
        return None

    def _neighbor_specs(self, spec: Hashable) -> Iterable[Hashable]:
        """Specs one parameter change away (override for conditional spaces)."""
        values = self._params_from_spec(spec)
        for p in self._active(values):
            for c in p.choices:
                if c == values[p.name]:
                    continue
                new = dict(values)
                new[p.name] = c
                try:
                    yield self._spec_from_params(self._complete(new))
                except InvalidArchitectureError:
                    continue

    def _path_graphs(self, spec: Hashable) -> list[ArchGraph]:
        """Graphs whose input->output paths make up the path encoding (one per cell)."""
        return [self._graph(spec)]

    # --------------------------------------------------------------- basics
    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("SearchSpace", self.name))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        from . import get_space

        return (get_space, (self.name,))

    @cached_property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @cached_property
    def _param_by_name(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}

    @property
    def local_ops(self) -> tuple[str, ...]:
        """Unified tokens this space's graphs can contain (``input``/``output`` first)."""
        toks = ["input", "output"] + [self.unified_ops[o] for o in self.ops]
        return tuple(dict.fromkeys(toks))

    def _active(self, values: Mapping[str, Any]) -> Iterator[Param]:
        """Parameters active under ``values`` (parents are looked up in ``values``)."""
        for p in self.params:
            if p.parent is None or values.get(p.parent) in p.parent_values:
                yield p

    def _complete(self, values: dict[str, Any]) -> dict[str, Any]:
        """Drop inactive values and give newly active parameters their first choice."""
        out: dict[str, Any] = {}
        for p in self.params:
            if p.parent is None or out.get(p.parent) in p.parent_values:
                out[p.name] = values.get(p.name, p.choices[0])
        return out

    # ------------------------------------------------------------ conversion
    def _check(self, arch: Architecture) -> Architecture:
        if not isinstance(arch, Architecture):
            raise TypeError(
                f"expected an Architecture of space {self.name!r}, got {type(arch).__name__}."
            )
        if arch.space.name != self.name:
            raise SpaceMismatchError(
                f"architecture belongs to space {arch.space.name!r}, not {self.name!r}: {arch!r}"
            )
        return arch

    def _values(self, mapping: Mapping[str, Any], *, strict: bool) -> dict[str, Any]:
        keys = set(mapping)
        known = keys & set(self.param_names)
        if keys and not known:
            raise SpaceMismatchError(
                f"none of the parameters {sorted(keys, key=str)[:6]} belong to search space {self.name!r} "
                f"(expected e.g. {list(self.param_names[:4])}); is this a configuration of another space?"
            )
        if strict and keys - known:
            raise InvalidArchitectureError(
                f"unknown parameter(s) {sorted(keys - known, key=str)}; this space has {list(self.param_names)}.",
                space=self.name,
            )
        values: dict[str, Any] = {}
        for p in self.params:
            if p.parent is not None and values.get(p.parent) not in p.parent_values:
                continue
            if p.name not in mapping or mapping[p.name] is None:
                raise InvalidArchitectureError(
                    f"missing value for parameter {p.name!r} (got parameters {sorted(keys, key=str)[:8]}).",
                    space=self.name,
                )
            values[p.name] = p.coerce(mapping[p.name], self.name)
        return values

    def to_arch(
        self, config: ConfigSpace.Configuration | Mapping[str, Any] | Architecture
    ) -> Architecture:
        """Architecture of a configuration of :attr:`configspace` (or a dict of its values).

        Raises:
            InvalidArchitectureError: the input is not a configuration, a value is missing or not
                allowed, or the architecture violates a constraint of the space (the message
                says which).
            SpaceMismatchError: the configuration belongs to another space.
        """
        if isinstance(config, Architecture):
            return self._check(config)
        if not isinstance(config, Mapping):
            # ConfigSpace.Configuration is a Mapping in ConfigSpace >= 1.0
            raise InvalidArchitectureError(
                f"expected a Configuration, a mapping or an Architecture, got {type(config).__name__}.",
                space=self.name,
            )
        return Architecture(self, self._spec_from_params(self._values(config, strict=True)))

    def from_params(self, params: Mapping[str, Any]) -> Architecture:
        """Architecture from the flat dict a framework hands back (Optuna ``trial.params``,
        a Ray Tune ``config``, a Syne Tune config).

        Keys that are not parameters of the space (a learning rate tuned jointly, say) are ignored;
        inactive parameters are ignored; values are coerced (``"1"`` -> ``1``).
        """
        if not isinstance(params, Mapping):
            raise InvalidArchitectureError(
                f"expected a mapping of parameter values, got {type(params).__name__}.",
                space=self.name,
            )
        return Architecture(self, self._spec_from_params(self._values(params, strict=False)))

    def to_params(self, arch: Architecture) -> dict[str, Any]:
        """Active parameter values of ``arch``."""
        return dict(self._params_from_spec(self._check(arch).spec))

    def full_params(self, arch: Architecture) -> dict[str, Any]:
        """A value for every parameter: ``arch``'s active ones, and each inactive conditional one
        at its first choice (flat config spaces such as Ray Tune's and Syne Tune's need every key;
        :meth:`from_params` ignores the inactive ones)."""
        active = self.to_params(arch)
        return {p.name: active.get(p.name, p.choices[0]) for p in self.params}

    def to_config(self, arch: Architecture) -> ConfigSpace.Configuration:
        """``arch`` as a configuration of :attr:`configspace` (exact inverse of :meth:`to_arch`)."""
        from ConfigSpace import Configuration

        return Configuration(self.configspace, values=self.to_params(arch))

    def key(self, arch: Architecture) -> str:
        """Canonical, isomorphism-invariant key of ``arch`` (see the subclass for its convention)."""
        spec = self._check(arch).spec
        k = self._key_cache.get(spec)
        if k is None:
            k = self._key(spec)
            if len(self._key_cache) < self._GRAPH_CACHE_SIZE:
                self._key_cache[spec] = k
        return k

    def to_string(self, arch: Architecture) -> str:
        """Official string form of ``arch``."""
        return self._to_string(self._check(arch).spec)

    def from_string(self, s: str) -> Architecture:
        """Parse the official string form; ``InvalidArchitectureError`` says what is malformed."""
        if not isinstance(s, str):
            raise InvalidArchitectureError(
                f"expected a string, got {type(s).__name__}.", space=self.name
            )
        return Architecture(self, self._from_string(s))

    def to_graph(self, arch: Architecture) -> ArchGraph:
        """Node-op DAG of ``arch`` over the unified vocabulary (cached)."""
        spec = self._check(arch).spec
        g = self._graph_cache.get(spec)
        if g is None:
            g = self._graph(spec)
            if len(self._graph_cache) < self._GRAPH_CACHE_SIZE:
                self._graph_cache[spec] = g
        return g

    def validate(self, arch: Architecture) -> Architecture:
        """Return ``arch`` if it is a valid architecture of this space, else raise."""
        self._check(arch)
        rebuilt = self._spec_from_params(
            self._values(self._params_from_spec(arch.spec), strict=True)
        )
        if rebuilt != arch.spec:
            raise InvalidArchitectureError(f"{arch!r} is not in canonical form.", space=self.name)
        return arch

    # ------------------------------------------------------------- ConfigSpace
    @cached_property
    def configspace(self) -> ConfigSpace.ConfigurationSpace:
        """The space as a ``ConfigSpace.ConfigurationSpace`` (categoricals + conditions).

        Constraints that ConfigSpace cannot express (e.g. NB101's 9-edge limit) are checked by
        :meth:`to_arch`; :meth:`sample` only returns valid architectures.
        """
        from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, InCondition

        cs = ConfigurationSpace(name=self.name)
        hps = {p.name: Categorical(p.name, list(p.choices)) for p in self.params}
        cs.add(list(hps.values()))
        conds: list[EqualsCondition | InCondition] = []
        for p in self.params:
            if p.parent is None:
                continue
            if len(p.parent_values) == 1:
                conds.append(EqualsCondition(hps[p.name], hps[p.parent], p.parent_values[0]))
            else:
                conds.append(InCondition(hps[p.name], hps[p.parent], list(p.parent_values)))
        if conds:
            cs.add(conds)
        forbidden = self._forbidden_values()
        if forbidden:
            from ConfigSpace import ForbiddenAndConjunction, ForbiddenEqualsClause

            cs.add(
                [
                    ForbiddenAndConjunction(
                        *(ForbiddenEqualsClause(hps[k], v) for k, v in combo.items())
                    )
                    for combo in forbidden
                ]
            )
        return cs

    def _forbidden_values(self) -> list[dict[str, Any]]:
        """Value combinations :attr:`configspace` forbids (each a conjunction; default none)."""
        return []

    # ---------------------------------------------------------- framework views
    def suggest(self, trial: Any) -> Architecture:
        """Ask an Optuna trial for every active parameter and return the architecture.

        Use it inside an objective: ``arch = space.suggest(trial)``. Conditional parameters are
        only suggested when active (define-by-run). ``trial.params`` holds the values as drawn;
        :meth:`to_params` of the result can differ where the space canonicalises (NB101 prunes
        and renumbers vertices). Optuna itself is not imported here.

        Raises:
            InvalidArchitectureError: the drawn values are no valid architecture. Samplers that
                draw each parameter independently (TPE, random) do this on some spaces (about
                30% of uniform NB101 draws); return ``float("nan")`` from the objective (Optuna
                records a FAIL and goes on) or pass ``catch=(InvalidArchitectureError,)`` to
                ``study.optimize``. ``MetaNASSampler`` only proposes valid architectures.
        """
        values: dict[str, Any] = {}
        for p in self.params:
            if p.parent is not None and values.get(p.parent) not in p.parent_values:
                continue
            values[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        return Architecture(self, self._spec_from_params(self._values(values, strict=True)))

    # ---------------------------------------------------------------- sampling
    def _sample_spec(self, rng: np.random.Generator) -> Hashable:
        for _ in range(10_000):
            values: dict[str, Any] = {}
            for p in self._active_in_order(values):
                values[p.name] = p.choices[int(rng.integers(len(p.choices)))]
            try:
                return self._spec_from_params(values)
            except InvalidArchitectureError:
                continue
        raise RuntimeError(
            f"could not sample a valid architecture of {self.name!r}"
        )  # pragma: no cover

    def _active_in_order(self, values: dict[str, Any]) -> Iterator[Param]:
        # values is filled by the caller while iterating, so conditions see their parents
        for p in self.params:
            if p.parent is None or values.get(p.parent) in p.parent_values:
                yield p

    def sample(
        self, n: int = 1, seed: int | np.random.Generator | None = None, *, unique: bool = False
    ) -> list[Architecture]:
        """Draw ``n`` valid architectures uniformly over the space's parametrisation.

        Args:
            n: How many.
            seed: Seed or generator (the space has no global state).
            unique: If ``True`` no two returned architectures share a :attr:`Architecture.key`.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, but got {n=}.")
        rng = as_generator(seed)
        out: list[Architecture] = []
        seen: set[str] = set()
        tries = 0
        while len(out) < n:
            arch = Architecture(self, self._sample_spec(rng))
            if unique:
                tries += 1
                k = self.key(arch)
                if k in seen:
                    if tries > 50 * n + 10_000:
                        raise ValueError(
                            f"space {self.name!r} has fewer than {n} unique architectures."
                        )
                    continue
                seen.add(k)
            out.append(arch)
        return out

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """Valid architectures one parameter change away, excluding ones isomorphic to ``arch``."""
        spec = self._check(arch).spec
        own = self.key(arch)
        out: dict[str, Architecture] = {}  # one per isomorphism class
        for s in self._neighbor_specs(spec):
            if s == spec:
                continue
            a = Architecture(self, s)
            k = self.key(a)
            if k != own and k not in out:
                out[k] = a
        return list(out.values())

    def mutate(
        self, arch: Architecture, seed: int | np.random.Generator | None = None
    ) -> Architecture:
        """A random neighbour of ``arch`` (see :meth:`neighbors`)."""
        nbrs = self.neighbors(arch)
        if not nbrs:
            raise InvalidArchitectureError(f"{arch!r} has no valid neighbour.", space=self.name)
        return nbrs[int(as_generator(seed).integers(len(nbrs)))]

    def enumerate(self, *, unique: bool = False) -> list[Architecture]:
        """Every architecture of a finite, small space.

        Args:
            unique: Keep one architecture per isomorphism class (the first in enumeration order).

        Raises:
            TypeError: the space is too large to enumerate.
        """
        specs = self._enumerate_specs()
        if specs is None:
            raise TypeError(f"search space {self.name!r} is too large to enumerate; use sample().")
        archs = [Architecture(self, s) for s in specs]
        if unique:
            seen: set[str] = set()
            kept = []
            for a in archs:
                k = self.key(a)
                if k not in seen:
                    seen.add(k)
                    kept.append(a)
            archs = kept
        return archs

    @property
    def is_enumerable(self) -> bool:
        return self._enumerate_specs() is not None

    def archs(self, items: Iterable[Architecture | str | Mapping[str, Any]]) -> list[Architecture]:
        """Coerce a mix of architectures, official strings and parameter dicts to architectures."""
        out = []
        for it in items:
            if isinstance(it, Architecture):
                out.append(self._check(it))
            elif isinstance(it, str):
                out.append(self.from_string(it))
            else:
                out.append(self.from_params(it))
        return out


def product_specs(choices: Sequence[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    """Cartesian product helper for enumerable spaces."""
    return itertools.product(*choices)
