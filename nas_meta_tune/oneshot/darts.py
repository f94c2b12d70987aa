"""First-order DARTS (Liu et al., "DARTS: Differentiable Architecture Search",
https://arxiv.org/abs/1806.09055) over any :class:`~nas_meta_tune.oneshot.Supernet`."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from .spos import SPOSTrainer
from .supernet import ArchLike, Supernet, seed_int

if TYPE_CHECKING:
    from ..spaces._base import Architecture

__all__ = ["DARTSTrainer"]


class DARTSTrainer(SPOSTrainer):
    """First-order DARTS on a supernet, as in NAS-Bench-201's DARTS-V1 baseline.

    The architecture parameters are the supernet's (:meth:`Supernet.init_arch_parameters`: for
    the graph supernet one logit per link pattern and one vector per node over its operations;
    for NAS-Bench-201 the logits ``alpha`` ``[6, 5]``, edges x operations, an operation an edge
    does not hold masked out), exposed by :meth:`arch_parameters` and initialised at
    ``1e-3 * N(0, 1)`` from the seed. Every :meth:`step` first takes one Adam step of them on the
    validation loss of the relaxed network (:meth:`Supernet.forward_relaxed`) on one validation
    minibatch, the weights held fixed (the first-order approximation), then one step of the
    weights on the training loss of one training minibatch. :meth:`derive` gives the most likely
    architecture, :meth:`arch_log_prob` scores any architecture by its log-probability under the
    learned distribution, and :meth:`rank` scores by that (``"alpha"``) or, as
    :class:`~nas_meta_tune.oneshot.SPOSTrainer`, by the inherited-weight accuracy of the
    architecture's own path. Seeds and checkpoints follow the SPOS trainer's rule; a checkpoint
    also holds the architecture parameters and their optimiser state.

    Args:
        supernet, data, optimizer, lr, momentum, weight_decay, grad_clip, seed, device: As
            :class:`~nas_meta_tune.oneshot.SPOSTrainer`.
        arch_lr: Step size of the architecture optimiser. (default: ``3e-4``, as DARTS)
        arch_weight_decay: Its L2 penalty. (default: ``1e-3``, as DARTS)
        arch_betas: Its Adam betas. (default: ``(0.5, 0.999)``, as DARTS)
    """

    def __init__(
        self,
        supernet: Supernet,
        data: Any,
        *,
        arch_lr: float = 3e-4,
        arch_weight_decay: float = 1e-3,
        arch_betas: tuple[float, float] = (0.5, 0.999),
        **kwargs: Any,
    ) -> None:
        super().__init__(supernet, data, **kwargs)
        if not arch_lr > 0 or not arch_weight_decay >= 0:
            raise ValueError(
                f"need arch_lr > 0 and arch_weight_decay >= 0, got {arch_lr=}, {arch_weight_decay=}."
            )
        self.arch_lr, self.arch_weight_decay = float(arch_lr), float(arch_weight_decay)
        self.arch_betas = (float(arch_betas[0]), float(arch_betas[1]))
        gen = torch.Generator().manual_seed(seed_int(self.seed, 0, 2))
        self.arch_params = nn.ParameterList(
            nn.Parameter(t.to(self.device)) for t in self.supernet.init_arch_parameters(gen)
        )
        self._arch_opt = torch.optim.Adam(
            self.arch_parameters(),
            lr=self.arch_lr,
            betas=self.arch_betas,
            weight_decay=self.arch_weight_decay,
        )

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters (the supernet's layout)."""
        return list(self.arch_params)

    def arch_weights(self) -> Any:
        """The probabilities of the architecture parameters (the supernet's layout: for
        NAS-Bench-201 ``softmax(alpha)`` per edge over the operations it holds, ``[6, 5]``)."""
        return self.supernet.arch_weights(self.arch_parameters())

    def step(self, arch: ArchLike | None = None) -> float:
        """One architecture step (a validation minibatch) and one weight step (a training
        minibatch) of the relaxed network; the training loss. ``arch`` must be ``None`` (DARTS
        trains the mixture)."""
        if arch is not None:
            raise ValueError(
                f"{type(self).__name__} trains the relaxed cell, got {arch=}; use SPOSTrainer to "
                "train a given path."
            )
        valid = self.feed.batch("valid", self.steps_done, self.seed)
        train = self.feed.batch("train", self.steps_done, self.seed)
        net, params = self.supernet, self.arch_parameters()
        with self._step_rng():
            net.train()
            self._arch_opt.zero_grad(set_to_none=True)
            valid.loss(net.forward_relaxed(valid.inputs, params)).backward()
            self._arch_opt.step()
            self._opt.zero_grad(set_to_none=True)
            fixed = [p.detach() for p in params]
            loss = train.loss(net.forward_relaxed(train.inputs, fixed))
            self._weight_step(loss)
        self.steps_done += 1
        return float(loss.detach())

    @torch.no_grad()
    def arch_log_prob(self, arch: ArchLike) -> float:
        """Log P(``arch``) under the learned distribution."""
        return self.supernet.arch_log_prob(self.arch_parameters(), arch)

    @torch.no_grad()
    def derive(self) -> Architecture:
        """The most likely architecture under the learned distribution."""
        return self.supernet.derive(self.arch_parameters())

    def rank(self, archs: Iterable[ArchLike], score: str = "alpha") -> np.ndarray:
        """Scores of ``archs`` (higher = better): ``"alpha"`` (log-probability under the learned
        distribution), or ``"acc"`` / ``"loss"`` of the inherited-weight path."""
        if score == "alpha":
            return np.asarray([self.arch_log_prob(a) for a in archs], dtype=float)
        if score not in ("acc", "loss"):
            raise ValueError(f"score must be 'alpha', 'acc' or 'loss', but got {score=}.")
        return super().rank(archs, score)

    def state_dict(self) -> dict[str, Any]:
        """As :meth:`SPOSTrainer.state_dict`, plus ``arch`` (the architecture parameters) and
        ``arch_optimizer`` (their optimiser's state)."""
        return {
            **super().state_dict(),
            "arch": [p.detach().clone() for p in self.arch_parameters()],
            "arch_optimizer": copy.deepcopy(self._arch_opt.state_dict()),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """As :meth:`SPOSTrainer.load_state_dict`; also reads the ``alpha`` key of NAS-Bench-201
        DARTS checkpoints written before the trainers were merged."""
        arch = state["arch"] if "arch" in state else [state["alpha"]]
        if len(arch) != len(self.arch_params):
            raise ValueError(
                f"the checkpoint holds {len(arch)} architecture parameter(s), this supernet "
                f"{len(self.arch_params)}: a checkpoint of another supernet."
            )
        super().load_state_dict(state)
        with torch.no_grad():
            for p, v in zip(self.arch_parameters(), arch):
                p.copy_(v)
        self._arch_opt.load_state_dict(copy.deepcopy(state["arch_optimizer"]))

    def spawn(self, *args: Any, **kwargs: Any) -> SPOSTrainer:
        """Not supported (raises): few-shot splitting is defined for SPOS sub-supernets."""
        raise NotImplementedError("few-shot splitting is defined for SPOS sub-supernets.")
