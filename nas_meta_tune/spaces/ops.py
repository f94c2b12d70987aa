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
``unknown``           an operation no token or naming-grammar rule matches (see below)
====================  =========================================================================

NB101's conv-bn-relu and NB201's relu-conv-bn differ only in where the non-linearity sits in a
stack of such blocks; they share a token on purpose (it is what lets knowledge transfer).
The order of :data:`VOCABULARY` is part of the shipped predictor weights: append, never reorder.

**Open vocabulary.** A node is read as its token's one-hot followed by
:data:`DESCRIPTORS`, attributes of the operation parsed from its name by :func:`describe_op`
(what kind of operation it is, its kernel size, dilation, expansion ratio, groups or heads). Two
operations that share a token but differ in a descriptor (``mbconv_k5_e6`` and
``sep_conv_5x5``) are therefore different inputs, and the ``unknown`` token, trained by hiding
known tokens behind their descriptors during meta-training (``MetaConfig.hide_tokens``), lets
the predictor read an operation from its descriptors alone. :func:`node_features` builds a row.
"""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType

import numpy as np

__all__ = [
    "VOCABULARY",
    "OP_INDEX",
    "UNKNOWN",
    "DESCRIPTORS",
    "NODE_FEATURES",
    "op_index",
    "resolve_op",
    "describe_op",
    "node_features",
    "vocabulary_table",
]

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
    "unknown",
)

#: the token of operations nothing else matches (learned by hiding tokens in meta-training)
UNKNOWN = "unknown"

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
        role = "(unmatched operations)" if op == UNKNOWN else "(node role)"
        lines.append(f"| {i} | `{op}` | {', '.join(users[op]) or role} |")
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
    ``sep_conv_3x3``. Details a token cannot hold (the exact kernel, the expansion ratio, groups,
    heads) are kept by :func:`describe_op`, which feeds the predictor beside the token.
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


#: what :func:`describe_op` reads from an operation name, in feature order: eleven attributes
#: (0/1) and four sizes (0 when absent or at the plain value)
DESCRIPTORS: tuple[str, ...] = (
    "conv",  # a convolution of any kind
    "depthwise",  # depthwise(-separable): sep, dw, depthwise, mbconv, inverted residual
    "dilated",  # dil, dilated, atrous
    "inverted_residual",  # mbconv, ir, inverted
    "avg_pool",
    "max_pool",
    "identity",  # skip, identity, residual
    "zero",  # none, zero, null
    "linear",  # fc, linear, dense, mlp
    "attention",  # attention, attn, mha, self-attention, gat
    "message_passing",  # graph convolutions (gat, gcn, gin, cheb, sage, arma, graph)
    "kernel",  # (k - 1) / 4: 0 for 1x1, 0.5 for 3x3, 1 for 5x5, 1.5 for 7x7
    "dilation",  # log2(d): 0 undilated, 1 for d = 2
    "expansion",  # log2(e) / 2: 0 for e = 1, 1.29 for e = 6
    "groups",  # log2(groups or heads) / 2
)

#: length of one node's feature row: the token one-hot, then the descriptors
NODE_FEATURES = len(VOCABULARY) + len(DESCRIPTORS)

_D = {name: i for i, name in enumerate(DESCRIPTORS)}

#: descriptors of every token, as the benchmarks define the operation (DARTS' sep and dil convs
#: are depthwise-separable; NAS-Bench-Graph's GAT has two heads)
_TOKEN_DESCRIPTORS: MappingProxyType[str, dict[str, float]] = MappingProxyType(
    {
        "input": {},
        "output": {},
        "unknown": {},
        "none": {"zero": 1},
        "skip": {"identity": 1},
        "conv1x1": {"conv": 1, "kernel": 1},
        "conv3x3": {"conv": 1, "kernel": 3},
        "avg_pool_3x3": {"avg_pool": 1, "kernel": 3},
        "max_pool_3x3": {"max_pool": 1, "kernel": 3},
        "sep_conv_3x3": {"conv": 1, "depthwise": 1, "kernel": 3},
        "sep_conv_5x5": {"conv": 1, "depthwise": 1, "kernel": 5},
        "dil_conv_3x3": {"conv": 1, "depthwise": 1, "dilated": 1, "kernel": 3, "dilation": 2},
        "dil_conv_5x5": {"conv": 1, "depthwise": 1, "dilated": 1, "kernel": 5, "dilation": 2},
        "gat": {"message_passing": 1, "attention": 1, "groups": 2},
        **{g: {"message_passing": 1} for g in ("gcn", "gin", "cheb", "sage", "arma", "graph")},
        "fc": {"linear": 1},
    }
)


def _encode(found: dict[str, float]) -> np.ndarray:
    """Raw attributes and sizes -> the scaled :data:`DESCRIPTORS` vector."""
    import math

    out = np.zeros(len(DESCRIPTORS), dtype=np.float32)
    for name, value in found.items():
        if name == "kernel":
            out[_D[name]] = (value - 1) / 4
        elif name == "dilation":
            out[_D[name]] = math.log2(value)
        elif name in ("expansion", "groups"):
            out[_D[name]] = math.log2(value) / 2
        else:
            out[_D[name]] = float(value)
    return out


def _parse_descriptors(low: str) -> dict[str, float]:
    """The naming grammar of :func:`describe_op` on a lower-cased name that is no known token."""
    import re

    parts = [p for p in re.split(r"[_\-\s]+", low) if p]
    joined = "_".join(parts)
    found: dict[str, float] = {}

    def number(pattern: str, anywhere: bool = False) -> int | None:
        for p in parts:
            m = re.search(pattern, p) if anywhere else re.fullmatch(pattern, p)
            if m and int(m.group(1)) > 0:
                return int(m.group(1))
        return None

    if parts and parts[0] in ("none", "zero", "null"):
        return {"zero": 1}
    if parts and parts[0] in ("skip", "identity", "residual", "id"):
        return {"identity": 1}
    kernel = number(r"k(\d+)") or number(r"(\d+)x\d+", anywhere=True)
    if "pool" in joined:
        found["max_pool" if "max" in joined else "avg_pool"] = 1
        found["kernel"] = kernel or 3
        return found
    if re.search(r"(^|_)(attention|attn|mha|self_attention|transformer)", joined):
        found["attention"] = 1
    head = re.sub(r"conv$", "", parts[0]) if parts else ""
    if head in _GRAPH_OPS - {"fc"}:
        found.update(_TOKEN_DESCRIPTORS[head])
    elif parts and parts[0] in ("fc", "linear", "dense", "mlp"):
        found["linear"] = 1
    conv = re.search(r"(conv|sep|dw|depthwise|mbconv|inverted|^ir(_|$)|dil|atrous)", joined)
    if conv or re.fullmatch(r"\d+x\d+", joined):
        found["conv"] = 1
        found["kernel"] = kernel or 3
        if re.search(r"(sep|dw|depthwise|mbconv|inverted|^ir(_|$))", joined):
            found["depthwise"] = 1
        if re.search(r"(mbconv|inverted|^ir(_|$))", joined):
            found["inverted_residual"] = 1
        if re.search(r"(dil|atrous)", joined):
            found["dilated"] = 1
            found["dilation"] = number(r"d(\d+)") or 2
    expansion = number(r"e(\d+)") or number(r"expand(\d+)")
    if expansion:
        found["expansion"] = expansion
    groups = number(r"g(\d+)") or number(r"h(\d+)") or number(r"heads?(\d+)")
    if groups:
        found["groups"] = groups
    return found


@lru_cache(maxsize=4096)
def _describe(name: str) -> tuple[float, ...]:
    raw = str(name).strip()
    low = raw.lower()
    token = raw if raw in OP_INDEX else low if low in OP_INDEX else ALIASES.get(low)
    found = _TOKEN_DESCRIPTORS[token] if token is not None else _parse_descriptors(low)
    return tuple(float(v) for v in _encode(found))


def describe_op(name: str) -> np.ndarray:
    """``float32[len(DESCRIPTORS)]``: what an operation is, read from its name.

    A token of :data:`VOCABULARY` or an alias gets its benchmark's definition (DARTS'
    ``dil_conv_3x3`` is a depthwise-separable 3x3 convolution of dilation 2). Any other name is
    parsed, lower-cased and split on ``_ - space``:

    * ``none`` / ``zero`` / ``null`` -> zero; ``skip`` / ``identity`` / ``residual`` -> identity;
    * a part containing ``pool`` -> ``max_pool`` if ``max`` appears, else ``avg_pool``;
    * a graph operation (``gat``, ``gcn``, ``gin``, ``cheb``, ``sage``, ``arma``, ``graph``,
      optionally ending in ``conv``) -> message passing (``gat`` also attention);
      ``fc`` / ``linear`` / ``dense`` / ``mlp`` -> linear; ``attention`` / ``attn`` / ``mha``
      / ``transformer`` -> attention;
    * a convolution (``conv``, ``sep``, ``dw``, ``depthwise``, ``mbconv``, ``ir``,
      ``inverted``, ``dil``, ``atrous`` or a bare ``5x5``): ``depthwise`` for the separable and
      inverted-residual kinds, ``inverted_residual`` for ``mbconv`` / ``ir`` / ``inverted``,
      ``dilated`` for ``dil`` / ``atrous`` (dilation ``d<n>``, default 2);
    * sizes: kernel ``k<n>`` or ``<n>x<n>`` (default 3 for convolutions and pools), expansion
      ``e<n>`` / ``expand<n>``, groups or heads ``g<n>`` / ``h<n>`` / ``heads<n>``.

    A name nothing matches gets all zeros. Example: ``mbconv_k5_e6`` -> conv, depthwise,
    inverted_residual, kernel 5, expansion 6.
    """
    return np.asarray(_describe(str(name)), dtype=np.float32)


@lru_cache(maxsize=4096)
def _row(token: str, name: str) -> np.ndarray:
    row = np.zeros(NODE_FEATURES, dtype=np.float32)
    row[op_index(token)] = 1.0
    row[len(VOCABULARY) :] = _describe(name)
    row.setflags(write=False)
    return row


def node_features(token: str, name: str | None = None) -> np.ndarray:
    """``float32[NODE_FEATURES]``: the one-hot of ``token`` then :func:`describe_op` of ``name``
    (the operation as the space names it; default: the token). Read-only, cached."""
    return _row(token, token if name is None else str(name))
