"""The unified operation vocabulary shared by every search space.

Every architecture of every space becomes a node-op DAG (see :mod:`nas_meta_tune.encodings`)
whose nodes carry one token of :data:`VOCABULARY`. Operations that compute the same function in
different benchmarks share one token, so that a graph network meta-trained on one space reads
another (MP-NAS represents graphs "under the union of operations across all search spaces").

====================  =========================================================================
unified token         official names it stands for
====================  =========================================================================
``input``             cell / GNN input node (NB101 ``input``; DARTS inputs c_{k-2}, c_{k-1})
``output``            cell output (sum or concat of the cell's results)
``none``              NB201 ``none``, TransNAS ``0`` (zeroize), DARTS ``none``
``skip``              NB201 ``skip_connect``, TransNAS ``1``, DARTS ``skip_connect``,
                      NAS-Bench-Graph ``skip``
``conv1x1``           NB201 ``nor_conv_1x1`` (ReLU-Conv-BN), TransNAS ``2``, NB101 ``conv1x1-bn-relu``
``conv3x3``           NB201 ``nor_conv_3x3`` (ReLU-Conv-BN), TransNAS ``3``, NB101 ``conv3x3-bn-relu``
``avg_pool_3x3``      NB201 ``avg_pool_3x3``, DARTS ``avg_pool_3x3``
``max_pool_3x3``      NB101 ``maxpool3x3``, DARTS ``max_pool_3x3``
``sep_conv_3x3``      DARTS ``sep_conv_3x3``
``sep_conv_5x5``      DARTS ``sep_conv_5x5``
``dil_conv_3x3``      DARTS ``dil_conv_3x3``
``dil_conv_5x5``      DARTS ``dil_conv_5x5``
``gat``               NAS-Bench-Graph ``gat`` (GAT, 2 heads)
``gcn``               NAS-Bench-Graph ``gcn``
``gin``               NAS-Bench-Graph ``gin``
``cheb``              NAS-Bench-Graph ``cheb`` (ChebNet)
``sage``              NAS-Bench-Graph ``sage`` (GraphSAGE)
``arma``              NAS-Bench-Graph ``arma``
``graph``             NAS-Bench-Graph ``graph`` (k-GNN GraphConv)
``fc``                NAS-Bench-Graph ``fc`` (fully connected, no message passing)
====================  =========================================================================

NB101's conv-bn-relu and NB201's relu-conv-bn differ only in where the non-linearity sits in a
stack of such blocks; they share a token on purpose (it is what lets knowledge transfer).
The order of :data:`VOCABULARY` is part of the shipped predictor weights: append, never reorder.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["VOCABULARY", "OP_INDEX", "op_index", "vocabulary_table"]

VOCABULARY: tuple[str, ...] = (
    "input",
    "output",
    "none",
    "skip",
    "conv1x1",
    "conv3x3",
    "avg_pool_3x3",
    "max_pool_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "gat",
    "gcn",
    "gin",
    "cheb",
    "sage",
    "arma",
    "graph",
    "fc",
)

OP_INDEX: MappingProxyType[str, int] = MappingProxyType({op: i for i, op in enumerate(VOCABULARY)})


def op_index(token: str) -> int:
    """Index of a unified token in :data:`VOCABULARY` (``KeyError`` with the choices if unknown)."""
    try:
        return OP_INDEX[token]
    except KeyError:
        raise KeyError(
            f"{token!r} is not a unified operation; known: {', '.join(VOCABULARY)}"
        ) from None


def vocabulary_table() -> str:
    """The vocabulary as a markdown table: token, index, and which spaces use it."""
    from . import available_spaces, get_space  # local: registry imports every space

    users: dict[str, list[str]] = {op: [] for op in VOCABULARY}
    for name in available_spaces():
        space = get_space(name)
        for official, token in space.unified_ops.items():
            users[token].append(f"{name}:{official}")
    lines = ["| index | token | official operations |", "|---|---|---|"]
    for i, op in enumerate(VOCABULARY):
        lines.append(f"| {i} | `{op}` | {', '.join(users[op]) or '(node role)'} |")
    return "\n".join(lines)
