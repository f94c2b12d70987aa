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

__all__ = ["VOCABULARY", "OP_INDEX", "op_index", "resolve_op", "vocabulary_table"]

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


#: official operation names of the benchmarks (and common spellings) -> unified token
ALIASES: MappingProxyType[str, str] = MappingProxyType(
    {
        "skip_connect": "skip",
        "identity": "skip",
        "id": "skip",
        "zero": "none",
        "zeroize": "none",
        "nor_conv_1x1": "conv1x1",
        "nor_conv_3x3": "conv3x3",
        "conv1x1-bn-relu": "conv1x1",
        "conv3x3-bn-relu": "conv3x3",
        "maxpool3x3": "max_pool_3x3",
        "graphconv": "graph",
        "gatconv": "gat",
        "gcnconv": "gcn",
        "ginconv": "gin",
        "sageconv": "sage",
        "chebconv": "cheb",
        "armaconv": "arma",
        "linear": "fc",
        "dense": "fc",
        "mlp": "fc",
    }
)

_GRAPH_OPS = {"gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc"}


def resolve_op(name: str) -> str | None:
    """The unified token of an operation name, or ``None`` when nothing matches.

    Resolution, in order: a token of :data:`VOCABULARY`; an official name of the benchmarks or a
    common spelling (:data:`ALIASES`); then a naming grammar over the lower-cased name split on
    ``_ - space``:

    * ``none`` / ``zero`` -> ``none``; ``skip`` / ``identity`` -> ``skip``;
    * a part containing ``pool``: ``max`` anywhere -> ``max_pool_3x3``, else ``avg_pool_3x3``;
    * a graph operation (``gat``, ``gcn``, ``gin``, ``cheb``, ``sage``, ``arma``, ``graph``,
      ``fc``, optionally ending in ``conv``) -> that token; ``linear`` / ``dense`` / ``mlp`` -> ``fc``;
    * a convolution: the kernel size from ``k5`` or ``5x5`` (default 3), the kind from
      ``mbconv`` / ``ir`` / ``inverted`` / ``sep`` / ``dw`` / ``depthwise`` (depthwise-separable:
      ``sep_conv_3x3`` for k <= 3, else ``sep_conv_5x5``), ``dil`` / ``dilated`` (``dil_conv_3x3``
      / ``dil_conv_5x5``), or a plain ``conv`` (``conv1x1`` for k = 1, else ``conv3x3``).

    So ``mbconv_k5_e6`` -> ``sep_conv_5x5``, ``conv5x5`` -> ``conv3x3``, ``dw3x3`` ->
    ``sep_conv_3x3``. The expansion ratio, groups and heads are parsed by nothing yet: two
    operations that differ only there share a token (a limit of the fixed vocabulary; learned
    descriptors are future work, issue 22).
    """
    import re

    raw = str(name).strip()
    if raw in OP_INDEX:
        return raw
    low = raw.lower()
    if low in OP_INDEX:
        return low
    if low in ALIASES:
        return ALIASES[low]
    parts = [p for p in re.split(r"[_\-\s]+", low) if p]
    if not parts:
        return None
    if parts[0] in ("none", "zero", "null") and len(parts) == 1:
        return "none"
    if parts[0] in ("skip", "identity", "residual") and len(parts) <= 2:
        return "skip"
    if any("pool" in p for p in parts):
        return "max_pool_3x3" if any("max" in p for p in parts) else "avg_pool_3x3"
    head = re.sub(r"conv$", "", parts[0])
    if head in _GRAPH_OPS and len(parts) <= 2:
        return head
    if parts[0] in ("linear", "dense", "mlp"):
        return "fc"
    kernel = None
    for p in parts:
        m = re.fullmatch(r"k(\d+)", p) or re.search(r"(\d+)x\d+", p)
        if m:
            kernel = int(m.group(1))
    k = 3 if kernel is None else kernel
    joined = "_".join(parts)
    if re.search(r"(mbconv|inverted|^ir(_|$)|sep|dw|depthwise)", joined):
        return "sep_conv_3x3" if k <= 3 else "sep_conv_5x5"
    if re.search(r"(dil|dilated|atrous)", joined):
        return "dil_conv_3x3" if k <= 3 else "dil_conv_5x5"
    if "conv" in joined or re.fullmatch(r"\d+x\d+", joined):
        return "conv1x1" if k == 1 else "conv3x3"
    return None
