"""The GCN performance predictor of MP-NAS over the unified node-op graph.

Architecture graphs are small DAGs whose nodes carry a one-hot operation over
:data:`~nas_meta_tune.spaces.ops.VOCABULARY`. Each layer propagates along the edges in both
directions (one GCN convolution forward, one backward, as in BRP-NAS-style predictors, so a node
sees what feeds it and what it feeds), the node states are mean-pooled per graph, and an MLP
maps the graph embedding to one score.

The parameters are split in two groups, because the meta-learning rules treat them differently:
the **body** (embedding, graph layers, hidden MLP layer) and the **head** (the final linear layer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch_geometric.nn import GCNConv, global_mean_pool

from ..encodings.graph import to_pyg_batch
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
        input: a PyG batch with ``x [N, in_dim]``, ``edge_index [2, E]``, ``batch [N]``.
        output: ``[num_graphs]``.
    """

    def __init__(self, config: GCNConfig | None = None) -> None:
        super().__init__()
        self.config = config or GCNConfig()
        c = self.config
        if c.in_dim != len(VOCABULARY):
            raise ValueError(f"in_dim must equal the vocabulary size {len(VOCABULARY)}, got {c.in_dim}.")
        self.embed = nn.Linear(c.in_dim, c.hidden)
        self.fwd = nn.ModuleList(GCNConv(c.hidden, c.hidden, add_self_loops=True) for _ in range(c.layers))
        self.bwd = nn.ModuleList(GCNConv(c.hidden, c.hidden, add_self_loops=False) for _ in range(c.layers))
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

    def embed_graphs(self, x: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor, num_graphs: int) -> torch.Tensor:
        """Graph embeddings before the head, ``[num_graphs, mlp_hidden]``."""
        h = torch.relu(self.embed(x))
        rev = edge_index.flip(0)
        for f, b in zip(self.fwd, self.bwd):
            h = torch.relu(f(h, edge_index) + b(h, rev)) + h
        g = global_mean_pool(h, batch, size=num_graphs)
        return self.drop(torch.relu(self.mlp(g)))

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor, num_graphs: int) -> torch.Tensor:
        return self.head(self.embed_graphs(x, edge_index, batch, num_graphs)).squeeze(-1)

    @staticmethod
    def inputs(archs: Sequence[Architecture], device: torch.device | str | None = None) -> tuple:
        """The positional inputs of :meth:`forward` for ``archs`` (any mix of spaces)."""
        b = to_pyg_batch(archs, device=device)
        return (b.x, b.edge_index, b.batch, len(archs))

    def body_names(self) -> list[str]:
        return [n for n, _ in self.named_parameters() if not n.startswith(HEAD_PREFIX)]

    def head_names(self) -> list[str]:
        return [n for n, _ in self.named_parameters() if n.startswith(HEAD_PREFIX)]
