"""Few-shot NAS: split a weight-sharing supernet into sub-supernets along cell edges.

Following the supernet splitting framework of Ly-Manson et al. ("Understanding Few-Shot NAS with
Zero-Cost Proxies"), which generalises GM-NAS (Hu et al., ICLR 2022,
https://arxiv.org/abs/2203.15207) and few-shot NAS (Zhao et al., ICML 2021):

* **Splitting a node** of the tree (a sub-supernet) picks an *edge*: a position ``1..n`` of the
  supernet's cell (a computing node ``1..4`` of the NAS-Bench-Graph cell, i.e. the parameter
  ``op_<node>``; one of the 6 edges of the NAS-Bench-201 cell, ``edge_<i>_<j>``), measures how
  differently its candidate operations behave with a *metric*, and partitions them into ``b``
  groups; child ``k`` is the sub-supernet whose edge may use only group ``k``.
* **Metrics.** ``"gm"``: gradient matching as in GM-NAS -- for each operation, the gradient of the
  training loss w.r.t. the weights it shares with the other operations (every parameter of the
  path except the edge's own candidates), summed over a fixed set of sampled context paths (the
  other edges' operations, and the links of a graph cell) on one training batch; distance
  ``1 - cos`` between operations. Or the name of a
  zero-cost proxy of :mod:`nas_meta_tune.proxies` (``"snip"``, ``"synflow"``, ...): each
  operation's sub-networks are scored in every context, the operations ranked per context, and
  the distance is the difference of mean ranks (scaled to ``[0, 1]``).
* **Grouping.** The min-cut of the similarity graph (similarity ``1 - d / max d``) into ``b``
  groups, solved exactly by enumerating the set partitions (an edge has at most 9 operations);
  with ``balanced`` (default) group sizes differ by at most one, as in GM-NAS, otherwise the
  normalised cut is minimised.
* **Constant policy** (the paper's Algorithm 1): every leaf is split with the same branching factor
  ``b`` until depth ``d`` (``b ** d`` leaves). Edges: a fixed node, one per depth level, or
  ``"auto"`` (GM-NAS's choice: the edge whose best partition has the lowest mean cross-group
  similarity).
* **Training.** A child starts from a copy of its parent's weights (``inherit=True``) or from a
  fresh initialisation (``inherit=False``, as GM-NAS and the paper train leaves from scratch);
  :meth:`SplitTree.train_leaves` trains every leaf with SPOS over its own sub-space.

Everything here works over the :class:`~nas_meta_tune.oneshot.Supernet` protocol, so both the
graph and the NAS-Bench-201 supernets split. :func:`split_distance` is the paper's Definition 1
(see its docstring).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import rankdata

from ..exceptions import InvalidArchitectureError
from .spos import SPOSTrainer
from .supernet import ArchLike, Supernet, seed_int

__all__ = [
    "SplitNode",
    "SplitTree",
    "split_distance",
    "partition_ops",
    "gradient_matching_distance",
    "proxy_distance",
]


# ---------------------------------------------------------------------------- split distance
def _as_partition(split: Iterable[Iterable[Any]], name: str) -> list[frozenset]:
    groups = [frozenset(g) for g in split]
    seen: set = set()
    for g in groups:
        if not g:
            raise ValueError(f"{name} has an empty group.")
        if seen & g:
            raise ValueError(f"{name} is not a partition: {sorted(map(str, seen & g))} repeat.")
        seen |= g
    return groups


def split_distance(a: Iterable[Iterable[Any]], b: Iterable[Iterable[Any]]) -> float:
    r"""Split distance of two partitions of the same operation set (Ly-Manson et al., Def. 1).

    For a set of operations :math:`\mathcal{O}` and two splits :math:`\mathcal{A}`,
    :math:`\mathcal{B}` (partitions of :math:`\mathcal{O}` into disjoint groups whose union is
    :math:`\mathcal{O}`), let :math:`G_{o,\mathcal{A}}` be the operations other than ``o`` in
    ``o``'s group of :math:`\mathcal{A}`. Then

    .. math::
        S(\mathcal{A}, \mathcal{B}) = \frac{1}{2\,|\mathcal{O}| - 1} \sum_{o \in \mathcal{O}}
        \Big[ \sum_{i \in G_{o,\mathcal{A}}} \mathbb{1}_{i \notin G_{o,\mathcal{B}}}
        + \sum_{i \in G_{o,\mathcal{B}}} \mathbb{1}_{i \notin G_{o,\mathcal{A}}} \Big],

    i.e. every ordered pair ``(o, i)`` grouped together in exactly one of the two splits counts
    once (each unordered pair twice), normalised by ``2 |O| - 1``. It is 0 for identical splits,
    symmetric, and ignores the order of the groups. (The paper's conditions print
    :math:`\bigcap A_i = \mathcal{O}` and :math:`A_i \cup A_j = \emptyset`; the intended
    ones, used here, are :math:`\bigcup A_i = \mathcal{O}` and :math:`A_i \cap A_j =
    \emptyset` for :math:`i \ne j`.)

    Args:
        a: A split: an iterable of groups (iterables of hashable operations).
        b: The other split, in the same form.

    Raises:
        ValueError: a split is not a partition, or the two do not cover the same operations.

    Example::

        split_distance([["a", "b"], ["c", "d"]], [["a", "c"], ["b", "d"]])  # 8 / 7
    """
    ga, gb = _as_partition(a, "split a"), _as_partition(b, "split b")
    ops = frozenset().union(*ga)
    if ops != frozenset().union(*gb):
        raise ValueError("split_distance needs two splits of the same set of operations.")
    group_a = {o: g for g in ga for o in g}
    group_b = {o: g for g in gb for o in g}
    total = 0
    for o in ops:
        same_a, same_b = group_a[o] - {o}, group_b[o] - {o}
        total += len(same_a - same_b) + len(same_b - same_a)
    return total / (2 * len(ops) - 1)


# ------------------------------------------------------------------------------- partitions
def _set_partitions(n: int, b: int) -> Iterator[list[int]]:
    """Restricted growth strings of length ``n`` with exactly ``b`` blocks."""

    def rec(prefix: list[int], m: int) -> Iterator[list[int]]:
        i = len(prefix)
        if i == n:
            if m == b:
                yield prefix
            return
        if b - m > n - i:  # not enough items left to open the missing blocks
            return
        for k in range(min(m + 1, b)):
            yield from rec([*prefix, k], max(m, k + 1))

    yield from rec([], 0)


def partition_ops(
    distance: np.ndarray, b: int = 2, *, balanced: bool = True
) -> tuple[list[list[int]], float]:
    """Exact ``b``-way min-cut of the operations whose pairwise distances are ``distance``.

    The similarity of two operations is ``1 - d / max(d)``; the cut of a partition is the total
    similarity between operations in different groups. With ``balanced`` the groups' sizes differ
    by at most one and the cut is minimised; otherwise the normalised cut
    (``sum_k cut(G_k) / vol(G_k)``) is. Ties go to the first partition in lexicographic order.

    Returns:
        ``(groups, score)``: the groups as lists of indices, and the mean similarity of the
        pairs the partition separates (lower = the groups are more distinct).
    """
    d = np.asarray(distance, dtype=float)
    n = d.shape[0]
    if d.shape != (n, n):
        raise ValueError(f"distance must be a square matrix, got shape {d.shape}.")
    if not 2 <= b <= n:
        raise ValueError(f"need 2 <= b <= number of operations ({n}), but got {b=}.")
    d = np.where(np.isfinite(d), d, np.nanmax(np.where(np.isfinite(d), d, np.nan)))
    top = d.max()
    w = 1.0 - d / top if top > 0 else np.ones_like(d)
    np.fill_diagonal(w, 0.0)
    best, best_key = None, None
    for labels in _set_partitions(n, b):
        lab = np.asarray(labels)
        sizes = np.bincount(lab, minlength=b)
        if balanced and sizes.max() - sizes.min() > 1:
            continue
        cross = lab[:, None] != lab[None, :]
        cut = float(w[cross].sum()) / 2
        if balanced:
            key = cut
        else:
            vol = np.array([w[lab == k].sum() for k in range(b)])
            per = [w[np.ix_(lab == k, lab != k)].sum() for k in range(b)]
            key = float(sum(c / v if v > 0 else 0.0 for c, v in zip(per, vol)))
        if best_key is None or key < best_key - 1e-12:
            best, best_key = lab, key
    assert best is not None
    cross = best[:, None] != best[None, :]
    score = float(w[cross].mean()) if cross.any() else 0.0
    return [list(np.flatnonzero(best == k)) for k in range(b)], score


# ------------------------------------------------------------------------------------ metrics
def _contexts(net: Supernet, pos: int, n: int, rng: np.random.Generator) -> list[ArchLike]:
    """``n`` sampled paths of the supernet's sub-space (their operation at ``pos`` is replaced
    later), each an informative context (:meth:`Supernet.informative_context`)."""
    out: list[ArchLike] = []
    while len(out) < n:
        arch = net.sample_arch(rng)
        if net.informative_context(net.ops_of(arch), pos):
            out.append(arch)
    return out


def gradient_matching_distance(
    trainer: SPOSTrainer,
    node: int,
    ops: Sequence[str] | None = None,
    *,
    num_contexts: int = 4,
    seed: int = 0,
) -> np.ndarray:
    """GM-NAS gradient-matching distances (``1 - cosine``) between ``node``'s operations.

    For each operation, the training-loss gradients of the weights shared with the other
    operations (every path parameter but the candidates at ``node``) are summed over
    ``num_contexts`` context paths (the same for every operation) on the trainer's first training
    batch (the whole graph for a graph), in eval mode (no dropout).

    Args:
        trainer: The (sub-)supernet's trainer (its weights and data).
        node: The position ``1..n`` of the cell whose operations are compared.
        ops: The operations (default: all the node's choices).
        num_contexts: Sampled context paths.
        seed: Seeds the contexts.
    """
    net = trainer.supernet
    pos = _position(net, node)
    ops = tuple(net.op_choices[pos] if ops is None else ops)
    ctxs = _contexts(net, pos, num_contexts, np.random.default_rng(seed))
    batch = trainer.feed.batch("train", 0, trainer.seed)
    own = {id(p) for p in net.candidate_parameters(pos)}
    shared = [p for p in net.parameters() if id(p) not in own]
    was_training = net.training
    net.eval()
    grads = []
    try:
        for op in ops:
            net.zero_grad(set_to_none=True)
            for ctx in ctxs:
                arch = net.with_op(ctx, pos, op)
                if arch is None:
                    continue
                batch.loss(net(*batch.inputs, arch)).backward()
            grads.append(
                torch.cat(
                    [
                        (p.grad if p.grad is not None else torch.zeros_like(p)).flatten()
                        for p in shared
                    ]
                )
            )
        net.zero_grad(set_to_none=True)
    finally:
        net.train(was_training)
    g = torch.stack(grads)
    cos = F.cosine_similarity(g[:, None, :], g[None, :, :], dim=-1, eps=1e-12)
    dist = (1.0 - cos).clamp_min(0.0).detach().cpu().numpy().astype(float)
    np.fill_diagonal(dist, 0.0)
    return dist


def proxy_distance(
    trainer: SPOSTrainer,
    node: int,
    proxy: str,
    ops: Sequence[str] | None = None,
    *,
    num_contexts: int = 4,
    seed: int = 0,
) -> np.ndarray:
    """Distances between ``node``'s operations from a zero-cost proxy of the inherited-weight
    sub-networks: per context the operations are ranked by the proxy (non-finite scores last),
    and the distance of two operations is the gap of their mean ranks divided by ``n - 1``."""
    from ..proxies import compute_proxy

    net = trainer.supernet
    pos = _position(net, node)
    ops = tuple(net.op_choices[pos] if ops is None else ops)
    ctxs = _contexts(net, pos, num_contexts, np.random.default_rng(seed))
    data = trainer.feed.proxy_batch(trainer.seed)
    ranks = []
    for c, ctx in enumerate(ctxs):
        scores = np.full(len(ops), -np.inf)
        for k, op in enumerate(ops):
            arch = net.with_op(ctx, pos, op)
            if arch is not None:
                model = trainer.path_model(arch)
                scores[k] = compute_proxy(proxy, model, data, seed=seed_int(seed, c))
        scores = np.where(np.isfinite(scores), scores, -np.inf)
        # average ranks: tied scores (params/flops of one supernet, degenerate proxies, several
        # -inf) are equally far from the rest, not ordered by their place in the op list
        ranks.append(rankdata(scores, method="average") - 1.0)
    mean_rank = np.mean(ranks, axis=0)
    return np.abs(mean_rank[:, None] - mean_rank[None, :]) / max(len(ops) - 1, 1)


def _position(net: Supernet, node: int) -> int:
    n = net.num_positions
    if not isinstance(node, (int, np.integer)) or not 1 <= node <= n:
        raise ValueError(
            f"node must be a position 1..{n} of the cell (a {net.position_kind}), but got {node!r}."
        )
    return int(node) - 1


# --------------------------------------------------------------------------------- the tree
@dataclass(eq=False)
class SplitNode:
    """One sub-supernet of a :class:`SplitTree`.

    Attributes:
        op_choices: The operations each position (1..n, as ``op_choices[node - 1]``) may use.
        trainer: The sub-supernet's :class:`~nas_meta_tune.oneshot.SPOSTrainer`.
        path: Child indices from the root (``()`` for the root).
        parent: The node it was split from.
        edge: The position this node was split along (``None`` for a leaf).
        ops: The split edge's operations, in the order of ``distance``'s rows.
        distance: The metric's distance matrix over ``ops``.
        groups: The groups of ``ops``, one per child.
        children: The sub-supernets, one per group.
    """

    op_choices: tuple[tuple[str, ...], ...]
    trainer: SPOSTrainer
    path: tuple[int, ...] = ()
    parent: SplitNode | None = None
    edge: int | None = None
    ops: tuple[str, ...] | None = None
    distance: np.ndarray | None = None
    groups: tuple[tuple[str, ...], ...] | None = None
    children: list[SplitNode] = field(default_factory=list)

    @property
    def depth(self) -> int:
        """Depth of the node (0 for the root)."""
        return len(self.path)

    @property
    def is_leaf(self) -> bool:
        """Whether the node has no children (it was not split)."""
        return not self.children

    def contains(self, arch: ArchLike) -> bool:
        """Whether ``arch``'s operations are all allowed in this sub-supernet."""
        ops = self.trainer.supernet.ops_of(arch)
        return all(op in self.op_choices[pos] for pos, op in enumerate(ops))

    def __repr__(self) -> str:
        choices = "|".join(",".join(c) for c in self.op_choices)
        return f"SplitNode(path={self.path}, op_choices={choices!r})"


class SplitTree:
    """Few-shot splitting tree of a supernet (constant policy; see the module docstring).

    Args:
        trainer: The root: a supernet trainer over the whole space (typically SPOS-trained first,
            when children inherit its weights).
        branching: ``b``, the number of groups every split forms. (default: ``2``)
        depth: ``d``, the number of split levels (``b ** d`` leaves). (default: ``1``)
        metric: ``"gm"`` (gradient matching) or a zero-cost proxy name. (default: ``"gm"``)
        edges: The position (1..n: a node of the graph cell, an edge of the NAS-Bench-201 cell) to
            split along: ``"auto"`` (default), one position for every split, or a sequence with
            one per depth level.
        num_contexts: Context paths per metric evaluation. (default: ``4``)
        warmup_steps: SPOS steps each node trains before it is split. (default: ``0``)
        inherit: Children copy their parent's weights (else fresh initialisation).
        balanced: Balanced groups (see :func:`partition_ops`).
        seed: Seeds the contexts, the children's SPOS sampling and scratch initialisations.

    Example::

        tree = SplitTree(build_supernet("cora"), branching=2, depth=2).build()
        tree.train_leaves(200)
        tree.rank(archs)
    """

    def __init__(
        self,
        trainer: SPOSTrainer,
        *,
        branching: int = 2,
        depth: int = 1,
        metric: str = "gm",
        edges: str | int | Sequence[int] = "auto",
        num_contexts: int = 4,
        warmup_steps: int = 0,
        inherit: bool = True,
        balanced: bool = True,
        seed: int = 0,
    ) -> None:
        if branching < 2:
            raise ValueError(f"branching must be >= 2, but got {branching=}.")
        if depth < 0:
            raise ValueError(f"depth must be >= 0, but got {depth=}.")
        if num_contexts < 1 or warmup_steps < 0:
            raise ValueError(
                f"need num_contexts >= 1, warmup_steps >= 0, got {num_contexts=}, {warmup_steps=}."
            )
        if metric != "gm":
            from ..proxies import PROXIES

            if metric not in PROXIES:
                raise ValueError(
                    f"metric must be 'gm' or one of {sorted(PROXIES)}, got {metric!r}."
                )
        if isinstance(edges, str):
            if edges != "auto":
                raise ValueError(f"edges must be 'auto', a node or a sequence, got {edges!r}.")
            plan: list[int | None] = [None] * depth
        elif isinstance(edges, (int, np.integer)):
            plan = [_position(trainer.supernet, edges) + 1] * depth
        else:
            plan = [_position(trainer.supernet, e) + 1 for e in edges]
            if len(plan) != depth:
                raise ValueError(f"edges needs one node per depth level ({depth}), got {edges!r}.")
        self.branching, self.depth, self.metric = int(branching), int(depth), metric
        self.edge_plan = plan
        self.num_contexts, self.warmup_steps = int(num_contexts), int(warmup_steps)
        self.inherit, self.balanced, self.seed = bool(inherit), bool(balanced), int(seed)
        self.root = SplitNode(trainer.supernet.op_choices, trainer)
        self.built = False

    # ------------------------------------------------------------------------------ building
    def distance(self, node: SplitNode, edge: int) -> np.ndarray:
        """The metric's distance matrix over ``node``'s operations at position ``edge``."""
        seed = seed_int(self.seed, *node.path, edge)
        if self.metric == "gm":
            return gradient_matching_distance(
                node.trainer, edge, num_contexts=self.num_contexts, seed=seed
            )
        return proxy_distance(
            node.trainer, edge, self.metric, num_contexts=self.num_contexts, seed=seed
        )

    def split(self, node: SplitNode, edge: int | None = None) -> list[SplitNode]:
        """Split the leaf ``node`` along position ``edge`` (``None``: the auto choice)."""
        if not node.is_leaf:
            raise ValueError(f"{node!r} is already split.")
        b, net = self.branching, node.trainer.supernet
        if edge is None:
            n = net.num_positions
            cands = [e for e in range(1, n + 1) if len(node.op_choices[e - 1]) >= b]
            if not cands:
                raise ValueError(f"no edge of {node!r} has {b} operations to split.")
            best = None
            for e in cands:
                dist = self.distance(node, e)
                groups, score = partition_ops(dist, b, balanced=self.balanced)
                if best is None or score < best[0] - 1e-12:
                    best = (score, e, dist, groups)
            _, edge, dist, groups = best  # type: ignore[misc]
        else:
            pos = _position(net, edge)
            if len(node.op_choices[pos]) < b:
                raise ValueError(
                    f"node {edge} of {node!r} has {len(node.op_choices[pos])} operation(s), "
                    f"fewer than the branching factor {b}."
                )
            dist = self.distance(node, edge)
            groups, _ = partition_ops(dist, b, balanced=self.balanced)
        pos = edge - 1
        ops = node.op_choices[pos]
        node.edge, node.ops, node.distance = edge, ops, dist
        node.groups = tuple(tuple(ops[i] for i in g) for g in groups)
        for k, group in enumerate(node.groups):
            choices = list(node.op_choices)
            choices[pos] = group
            try:
                net.check_choices(tuple(choices))
            except ValueError as err:
                raise ValueError(f"splitting {node!r} leaves a child with no path: {err}") from err
            path = (*node.path, k)
            trainer = node.trainer.spawn(
                choices, inherit=self.inherit, seed=seed_int(self.seed, *path, 99)
            )
            node.children.append(
                SplitNode(trainer.supernet.op_choices, trainer, path=path, parent=node)
            )
        return node.children

    def build(self) -> SplitTree:
        """Run the constant policy: split every leaf, level by level, ``depth`` times."""
        if self.built:
            return self
        for level in range(self.depth):
            for leaf in list(self.leaves):
                if self.warmup_steps:
                    leaf.trainer.train(self.warmup_steps)
                self.split(leaf, self.edge_plan[level])
        self.built = True
        return self

    def train_leaves(self, steps: int) -> dict[tuple[int, ...], list[float]]:
        """``steps`` SPOS steps for every leaf over its own sub-space; losses by leaf path."""
        return {leaf.path: leaf.trainer.train(steps) for leaf in self.leaves}

    # ----------------------------------------------------------------------------- inspecting
    def nodes(self) -> Iterator[SplitNode]:
        """Every node, depth first, children in group order."""
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    @property
    def leaves(self) -> list[SplitNode]:
        """The leaves (the sub-supernets in use), depth first."""
        return [n for n in self.nodes() if n.is_leaf]

    def splits(self) -> list[tuple[tuple[int, ...], int, tuple[tuple[str, ...], ...]]]:
        """``(path, edge, groups)`` of every split made."""
        return [(n.path, n.edge, n.groups) for n in self.nodes() if not n.is_leaf]  # type: ignore[misc]

    def leaf_for(self, arch: ArchLike) -> SplitNode:
        """The leaf whose sub-space holds ``arch`` (each architecture has exactly one)."""
        net = self.root.trainer.supernet
        ops = net.ops_of(arch)
        node = self.root
        if not node.contains(arch):
            raise InvalidArchitectureError(
                f"{arch!r} is not in the tree's root supernet.", space=net.space_name
            )
        while not node.is_leaf:
            op = ops[node.edge - 1]  # type: ignore[operator]
            k = next(i for i, g in enumerate(node.groups) if op in g)  # type: ignore[arg-type]
            node = node.children[k]
        return node

    def rank(self, archs: Iterable[ArchLike], score: str = "acc") -> np.ndarray:
        """Scores of ``archs``, each by its own leaf's supernet (see ``SPOSTrainer.rank``)."""
        return np.asarray(
            [self.leaf_for(a).trainer.rank([a], score=score)[0] for a in archs], dtype=float
        )

    def describe(self) -> str:
        """A text rendering of the tree: every node's restricted op sets and its split."""
        lines = [
            f"SplitTree(metric={self.metric!r}, branching={self.branching}, depth={self.depth}, "
            f"leaves={len(self.leaves)})"
        ]
        net = self.root.trainer.supernet
        for n in self.nodes():
            indent = "  " * (n.depth + 1)
            name = "root" if not n.path else "/".join(map(str, n.path))
            restricted = [
                f"{net.position_name(p)}={{{','.join(c)}}}"
                for p, c in enumerate(n.op_choices)
                if c != self.root.op_choices[p]
            ]
            desc = " ".join(restricted) if restricted else "whole space"
            if n.is_leaf:
                lines.append(
                    f"{indent}{name}: {desc} [leaf, {n.trainer.supernet.num_paths()} paths]"
                )
            else:
                groups = " | ".join("{" + ",".join(g) + "}" for g in n.groups)  # type: ignore[union-attr]
                edge = net.position_name(n.edge - 1)  # type: ignore[operator]
                lines.append(f"{indent}{name}: {desc} -> split {edge}: {groups}")
        return "\n".join(lines)
