"""Classic fixed-length vector encodings of architectures.

* :func:`adjacency_onehot`: the upper triangle of the unified graph's adjacency matrix, padded to
  the space's ``max_nodes``, followed by a one-hot of every node's operation over the space's own
  tokens (``space.local_ops``). The usual encoding of BANANAS/NASLib "adjacency one-hot".
* :func:`path_encoding`: BANANAS path encoding (White et al., AAAI 2021): one entry per possible
  sequence of operations on an input -> output path (lengths ``0..space.max_path_length``),
  holding how many such paths the cell has. Paths through a ``none`` operation carry nothing and
  are not counted. Spaces with several cells (DARTS) concatenate one block per cell.

Both have a fixed length per space (``encode(..., kind).shape[1]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ..spaces._base import ArchGraph, Architecture, SearchSpace

__all__ = ["adjacency_onehot", "path_encoding", "encode"]


def _space_of(archs: Sequence[Architecture]) -> SearchSpace:
    if not archs:
        raise ValueError("need at least one architecture to encode.")
    space = archs[0].space
    for a in archs:
        if a.space.name != space.name:
            raise ValueError(
                f"all architectures must share one space to get fixed-length encodings; "
                f"got {space.name!r} and {a.space.name!r}."
            )
    return space


def adjacency_onehot(arch: Architecture) -> np.ndarray:
    """``float32`` adjacency (upper triangle) + node one-hot encoding of one architecture."""
    space = arch.space
    g = space.to_graph(arch)
    n = space.max_nodes
    tokens = space.local_ops
    adj = np.zeros((n, n), dtype=np.float32)
    for s, d in g.edges:
        adj[s, d] = 1.0
    onehot = np.zeros((n, len(tokens)), dtype=np.float32)
    pos = {t: i for i, t in enumerate(tokens)}
    for i, op in enumerate(g.ops):
        onehot[i, pos[op]] = 1.0
    iu = np.triu_indices(n, k=1)
    return np.concatenate([adj[iu], onehot.ravel()])


@lru_cache(maxsize=64)
def _path_offsets(n_ops: int, max_len: int) -> tuple[int, ...]:
    offs = [0]
    for length in range(max_len + 1):
        offs.append(offs[-1] + n_ops**length)
    return tuple(offs)


def _path_tokens(space: SearchSpace) -> tuple[str, ...]:
    return tuple(t for t in space.local_ops if t not in ("input", "output", "none"))


def _count_paths(g: ArchGraph, tokens: dict[str, int], max_len: int, out: np.ndarray) -> None:
    offs = _path_offsets(len(tokens), max_len)
    succ: list[list[int]] = [[] for _ in range(g.num_nodes)]
    for s, d in g.edges:
        succ[s].append(d)
    stack = [(i, 0, 0) for i, op in enumerate(g.ops) if op == "input"]
    while stack:
        node, length, code = stack.pop()
        for nxt in succ[node]:
            op = g.ops[nxt]
            if op == "output":
                out[offs[length] + code] += 1.0
            elif op in tokens and length < max_len:
                stack.append((nxt, length + 1, code * len(tokens) + tokens[op]))
            # 'none' (zero) and 'input' nodes end the path without contributing


def path_encoding(arch: Architecture) -> np.ndarray:
    """``float32`` BANANAS path encoding (path counts) of one architecture."""
    space = arch.space
    toks = _path_tokens(space)
    index = {t: i for i, t in enumerate(toks)}
    graphs = space._path_graphs(arch.spec)
    block = _path_offsets(len(toks), space.max_path_length)[-1]
    out = np.zeros(block * len(graphs), dtype=np.float32)
    for i, g in enumerate(graphs):
        _count_paths(g, index, space.max_path_length, out[i * block : (i + 1) * block])
    return out


def encode(archs: Sequence[Architecture], kind: str = "adjacency_onehot") -> np.ndarray:
    """Stack the encodings of ``archs`` (one space) into a ``float32[len(archs), d]`` matrix.

    Args:
        archs: Architectures of one space.
        kind: ``"adjacency_onehot"`` or ``"path"``.
    """
    funcs = {"adjacency_onehot": adjacency_onehot, "path": path_encoding}
    if kind not in funcs:
        raise ValueError(f"kind must be one of {sorted(funcs)}, but got {kind=}.")
    _space_of(archs)
    return np.stack([funcs[kind](a) for a in archs])
