"""The GCN performance predictor of MP-NAS over the unified node-op graph.

Architecture graphs are small DAGs whose nodes carry a one-hot operation over
:data:`~nas_meta_tune.spaces.ops.VOCABULARY` followed by the operation's descriptors
(:data:`~nas_meta_tune.spaces.ops.DESCRIPTORS`, parsed from its name). Each layer propagates along the edges in both
directions (one GCN convolution forward, one backward, as in BRP-NAS-style predictors, so a node
sees what feeds it and what it feeds), the node states are mean-pooled per graph, and an MLP
maps the graph embedding to one score.

The convolutions are torch-geometric's :class:`~torch_geometric.nn.DenseGCNConv` (the same
symmetric-normalised GCN rule as ``GCNConv``) on graphs padded to a common size: cells have at
most 20 nodes, and batched dense matrix products are several times faster on CPU than the
scatter-based sparse layers for the many tiny graphs a predictor scores.

The parameters are split in two groups, because the meta-learning rules treat them differently:
the **body** (embedding, graph layers, hidden MLP layer) and the **head** (the final linear layer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch_geometric.nn import DenseGCNConv

from ..encodings.graph import dense_batch
from ..spaces._base import Architecture
from ..spaces.ops import NODE_FEATURES, OP_INDEX, UNKNOWN, VOCABULARY

__all__ = ["GCNConfig", "GCNPredictor", "HEAD_PREFIX", "LEGACY_IN_DIM", "hide_tokens"]

#: parameter-name prefix of the head (everything else is the body)
HEAD_PREFIX = "head."

#: input width of weights written before the open vocabulary (20 one-hot tokens, no descriptors)
LEGACY_IN_DIM = 20

_ROLES = (OP_INDEX["input"], OP_INDEX["output"])


@dataclass(frozen=True)
class GCNConfig:
    """Hyperparameters of :class:`GCNPredictor` (stored with the weights). The input width is
    not one of them: it is :data:`~nas_meta_tune.spaces.ops.NODE_FEATURES`."""

    hidden: int = 64
    layers: int = 3
    mlp_hidden: int = 64
    dropout: float = 0.1

    def to_dict(self) -> dict[str, float]:
        """The configuration as a plain dict."""
        return asdict(self)


class GCNPredictor(nn.Module):
    """Bidirectional GCN + mean pooling + MLP; predicts one score per architecture graph.

    Args:
        config: Layer sizes and dropout (default: :class:`GCNConfig`).

    Shapes:
        input: ``x [B, n, NODE_FEATURES]``, ``adj [B, n, n]`` (``adj[b, dst, src] = 1``), ``mask [B, n]``
        (see :meth:`inputs`).
        output: ``[B]``.
    """

    feature_mask: torch.Tensor  # a buffer (register_buffer in __init__)

    def __init__(self, config: GCNConfig | None = None) -> None:
        super().__init__()
        self.config = config or GCNConfig()
        c = self.config
        self.embed = nn.Linear(NODE_FEATURES, c.hidden)
        # which input features the weights read: all, or only the legacy tokens (legacy_state)
        self.register_buffer("feature_mask", torch.ones(NODE_FEATURES))
        self.fwd = nn.ModuleList(DenseGCNConv(c.hidden, c.hidden) for _ in range(c.layers))
        self.bwd = nn.ModuleList(DenseGCNConv(c.hidden, c.hidden) for _ in range(c.layers))
        self.mlp = nn.Linear(c.hidden, c.mlp_hidden)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.mlp_hidden, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Fresh initialisation; the descriptor and ``unknown`` columns of the input layer start
        at zero, so an attribute meta-training never varies has no effect at all (rather than a
        random one) on the spaces that later use it."""
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()  # type: ignore[operator]  # torch types Module.__getattr__ as Tensor | Module
        with torch.no_grad():
            self.embed.weight[:, OP_INDEX[UNKNOWN] :] = 0.0

    def read_unseen_as_unknown(self, seen: Sequence[int]) -> list[str]:
        """Make every token outside ``seen`` (vocabulary indices met in training) read as
        ``unknown``: its input column becomes the ``unknown`` token's, so an operation of a space
        the weights never trained on is read through its descriptors. Returns those tokens."""
        unseen = [i for i in range(len(VOCABULARY)) if i not in set(seen) and i not in _ROLES]
        unseen = [i for i in unseen if i != OP_INDEX[UNKNOWN]]
        with torch.no_grad():
            for i in unseen:
                self.embed.weight[:, i] = self.embed.weight[:, OP_INDEX[UNKNOWN]]
        return [VOCABULARY[i] for i in unseen]

    def __repr__(self) -> str:
        c = self.config
        return f"GCNPredictor(hidden={c.hidden}, layers={c.layers}, mlp_hidden={c.mlp_hidden})"

    def embed_graphs(self, x: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Graph embeddings that feed the head, ``[B, mlp_hidden]`` (before dropout)."""
        m = mask.unsqueeze(-1).to(x.dtype)
        h = torch.relu(self.embed(x * self.feature_mask)) * m
        rev = adj.transpose(1, 2)
        for f, b in zip(self.fwd, self.bwd):
            h = torch.relu(f(h, adj, mask) + b(h, rev, mask, add_loop=False)) + h
        g = h.sum(1) / m.sum(1).clamp(min=1)
        return torch.relu(self.mlp(g))

    def forward(self, x: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Predicted scores ``[B]`` of a batch of graphs (see :meth:`inputs`)."""
        return self.head(self.drop(self.embed_graphs(x, adj, mask))).squeeze(-1)

    @staticmethod
    def inputs(archs: Sequence[Architecture], device: torch.device | str | None = None) -> tuple:
        """The positional inputs of :meth:`forward` for ``archs`` (any mix of spaces)."""
        x, adj, mask = (torch.from_numpy(a) for a in dense_batch(archs))
        if device is not None:
            x, adj, mask = x.to(device), adj.to(device), mask.to(device)
        return (x, adj, mask)

    @staticmethod
    def legacy_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A state dict written with :data:`LEGACY_IN_DIM` inputs, widened with zero columns for
        the ``unknown`` token and the descriptors and a feature mask that hides those inputs: it
        predicts and adapts exactly as before on every graph of known tokens."""
        w = state["embed.weight"]
        if w.shape[1] != LEGACY_IN_DIM:
            raise ValueError(f"not a legacy state: embed.weight has {w.shape[1]} inputs.")
        wide = torch.zeros((w.shape[0], NODE_FEATURES), dtype=w.dtype)
        wide[:, :LEGACY_IN_DIM] = w
        mask = torch.zeros(NODE_FEATURES, dtype=w.dtype)
        mask[:LEGACY_IN_DIM] = 1.0
        return {**state, "embed.weight": wide, "feature_mask": mask}

    def body_names(self) -> list[str]:
        """Names of the parameters outside the head."""
        return [n for n, _ in self.named_parameters() if not n.startswith(HEAD_PREFIX)]

    def head_names(self) -> list[str]:
        """Names of the head's parameters."""
        return [n for n, _ in self.named_parameters() if n.startswith(HEAD_PREFIX)]


def hide_tokens(
    x: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``x`` (``[..., NODE_FEATURES]``) with each operation node's token moved, with probability
    ``p``, to ``unknown``; its descriptors stay. Meta-training with it teaches the network to read
    an operation from its descriptors alone (input/output nodes and padding are never hidden)."""
    if p <= 0:
        return x
    tokens = x[..., : len(VOCABULARY)]
    is_op = tokens.sum(-1) > 0
    for r in _ROLES:
        is_op = is_op & (tokens[..., r] == 0)
    hide = is_op & (torch.rand(is_op.shape, generator=generator) < p)
    out = x.clone()
    out[..., : len(VOCABULARY)] = torch.where(hide.unsqueeze(-1), 0.0, tokens)
    out[..., OP_INDEX[UNKNOWN]] = torch.where(hide, 1.0, tokens[..., OP_INDEX[UNKNOWN]])
    return out
