"""The GCN performance predictor of MP-NAS over the unified node-op graph.

Architecture graphs are small DAGs whose nodes carry a one-hot operation over
:data:`~nas_meta_tune.spaces.ops.VOCABULARY`. Each layer propagates along the edges in both
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
from ..spaces.ops import VOCABULARY

__all__ = ["GCNConfig", "GCNPredictor", "HEAD_PREFIX"]

#: parameter-name prefix of the head (everything else is the body)
HEAD_PREFIX = "head."


@dataclass(frozen=True)
class GCNConfig:
    """Hyperparameters of :class:`GCNPredictor` (stored with the weights)."""

    in_dim: int = len(VOCABULARY)
    hidden: int = 64
    layers: int = 3
    mlp_hidden: int = 64
    dropout: float = 0.1

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


class GCNPredictor(nn.Module):
    """Bidirectional GCN + mean pooling + MLP; predicts one score per architecture graph.

    Args:
        config: Layer sizes and dropout (default: :class:`GCNConfig`).

    Shapes:
        input: ``x [B, n, in_dim]``, ``adj [B, n, n]`` (``adj[b, dst, src] = 1``), ``mask [B, n]``
        (see :meth:`inputs`).
        output: ``[B]``.
    """

    def __init__(self, config: GCNConfig | None = None) -> None:
        super().__init__()
        self.config = config or GCNConfig()
        c = self.config
        if c.in_dim != len(VOCABULARY):
            raise ValueError(
                f"in_dim must equal the vocabulary size {len(VOCABULARY)}, got {c.in_dim}."
            )
        self.embed = nn.Linear(c.in_dim, c.hidden)
        self.fwd = nn.ModuleList(DenseGCNConv(c.hidden, c.hidden) for _ in range(c.layers))
        self.bwd = nn.ModuleList(DenseGCNConv(c.hidden, c.hidden) for _ in range(c.layers))
        self.mlp = nn.Linear(c.hidden, c.mlp_hidden)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.mlp_hidden, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def __repr__(self) -> str:
        c = self.config
        return f"GCNPredictor(hidden={c.hidden}, layers={c.layers}, mlp_hidden={c.mlp_hidden})"

    def embed_graphs(self, x: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Graph embeddings that feed the head, ``[B, mlp_hidden]`` (before dropout)."""
        m = mask.unsqueeze(-1).to(x.dtype)
        h = torch.relu(self.embed(x)) * m
        rev = adj.transpose(1, 2)
        for f, b in zip(self.fwd, self.bwd):
            h = torch.relu(f(h, adj, mask) + b(h, rev, mask, add_loop=False)) + h
        g = h.sum(1) / m.sum(1).clamp(min=1)
        return torch.relu(self.mlp(g))

    def forward(self, x: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.embed_graphs(x, adj, mask))).squeeze(-1)

    @staticmethod
    def inputs(archs: Sequence[Architecture], device: torch.device | str | None = None) -> tuple:
        """The positional inputs of :meth:`forward` for ``archs`` (any mix of spaces)."""
        x, adj, mask = (torch.from_numpy(a) for a in dense_batch(archs))
        if device is not None:
            x, adj, mask = x.to(device), adj.to(device), mask.to(device)
        return (x, adj, mask)

    def body_names(self) -> list[str]:
        return [n for n, _ in self.named_parameters() if not n.startswith(HEAD_PREFIX)]

    def head_names(self) -> list[str]:
        return [n for n, _ in self.named_parameters() if n.startswith(HEAD_PREFIX)]
