"""Single-path one-shot (SPOS) training of any :class:`~nas_meta_tune.oneshot.Supernet`, and what
every one-shot trainer shares: evaluation of a path with inherited weights, checkpoints, seeding.

**Seeds and checkpoints.** Step ``t``'s path, minibatch and dropout masks come from generators
seeded with ``(seed, t)``, so a trainer's whole random state is ``(seed, steps_done)``: two trainers
with the same supernet and seed follow the same sequence (bit-identical on CPU with a fixed thread
count), and torch's global random state is restored after every step. A checkpoint
(:meth:`SPOSTrainer.state_dict`) holds the weights, the optimiser state, ``steps_done`` *and*
``seed``; :meth:`SPOSTrainer.load_state_dict` restores all four, so the trainer then continues
exactly as the saved one would have, whatever seed it was built with (the checkpoint is the
trainer's state, as ``steps_done`` is). This is the one rule for every supernet and strategy.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import nn

from .._device import resolve_device, seeded_rng
from .feeds import DataFeed, as_feed
from .supernet import ArchLike, OpChoices, PathModel, Supernet, arch_scores, seed_int

if TYPE_CHECKING:
    from ..spaces._base import Architecture

__all__ = ["SPOSTrainer"]

Default = Literal["default"]


def _check_seed(seed: Any) -> int:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, but got {seed=}.")
    return int(seed)


class SPOSTrainer:
    """Single-path one-shot training (Guo et al., https://arxiv.org/abs/1904.00420) of a supernet.

    Every :meth:`step` draws one path uniformly (:meth:`Supernet.sample_arch`) and takes one
    optimiser step on the training loss of its path on one minibatch of the feed; the candidates
    it does not use get no gradient (``None``) and are not touched by the optimiser (nor by weight
    decay). See the module docstring for seeds and checkpoints. Evaluation (:meth:`evaluate`,
    :meth:`loss`, :meth:`rank`) runs the path in eval mode with its inherited weights.

    Args:
        supernet: The supernet (moved to ``device``).
        data: A :class:`~nas_meta_tune.oneshot.DataFeed`, a torch_geometric graph (or a dataset
            of one; a :class:`~nas_meta_tune.oneshot.GraphFeed`), or ``((x_train, y_train),
            (x_valid, y_valid))`` image tensors (an :class:`~nas_meta_tune.oneshot.ImageFeed`).
        optimizer: ``"adam"`` or ``"sgd"``. (default: the feed's: Adam for a graph, SGD for
            images)
        lr: Learning rate. (default: the feed's, ``0.005`` / ``0.025``)
        momentum: SGD momentum. (default: the feed's, ``0`` / ``0.9``)
        weight_decay: L2 penalty. (default: the feed's, ``5e-4`` / ``3e-4``)
        grad_clip: Maximal gradient 2-norm, or ``None`` for no clipping. (default: the feed's,
            ``None`` / ``5.0``)
        seed: Seeds the paths, the minibatches and the dropout masks.
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available, else CPU). The data is
            moved there once.

    Raises:
        ValueError: A bad hyper-parameter or data (the message names it).
    """

    def __init__(
        self,
        supernet: Supernet,
        data: Any,
        *,
        optimizer: str | None = None,
        lr: float | None = None,
        momentum: float | None = None,
        weight_decay: float | None = None,
        grad_clip: float | None | Default = "default",
        seed: int = 0,
        device: str | torch.device | None = None,
    ) -> None:
        if not isinstance(supernet, Supernet):
            raise ValueError(f"supernet must be a Supernet, got {type(supernet).__name__}.")
        feed = as_feed(data)
        d = feed.defaults
        self.optimizer_name = d.optimizer if optimizer is None else optimizer
        self.lr = float(d.lr if lr is None else lr)
        if momentum is None:  # the feed's momentum goes with the feed's optimiser
            momentum = d.momentum if self.optimizer_name == d.optimizer else 0.0
        self.momentum = float(momentum)
        self.weight_decay = float(d.weight_decay if weight_decay is None else weight_decay)
        clip = d.grad_clip if grad_clip == "default" else grad_clip
        self.grad_clip = None if clip is None else float(clip)
        self._check_settings()
        self.seed = _check_seed(seed)
        feed.check(supernet)
        self.device = resolve_device(device)
        self.feed: DataFeed = feed.to(self.device)
        self.supernet = supernet.to(self.device)
        self.steps_done = 0
        self.last_arch: Architecture | None = None
        self._opt = self._make_optimizer()

    def _check_settings(self) -> None:
        if self.optimizer_name not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', but got {self.optimizer_name=}.")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, but got lr={self.lr:g}.")
        if not 0 <= self.momentum < 1 or (self.optimizer_name == "adam" and self.momentum):
            raise ValueError(
                f"momentum must be in [0, 1) (0 with Adam), but got momentum={self.momentum:g}."
            )
        if not self.weight_decay >= 0:
            raise ValueError(
                f"weight_decay must be >= 0, but got weight_decay={self.weight_decay:g}."
            )
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(
                f"grad_clip must be > 0 or None, but got grad_clip={self.grad_clip:g}."
            )

    def _make_optimizer(self) -> torch.optim.Optimizer:
        kw: dict[str, Any]
        params, kw = self.supernet.parameters(), {"lr": self.lr, "weight_decay": self.weight_decay}
        if self.optimizer_name == "adam":
            return torch.optim.Adam(params, **kw)
        return torch.optim.SGD(params, momentum=self.momentum, **kw)

    @property
    def data(self) -> Any:
        """The training data as given (a graph, or the ``(train, valid)`` image tensors)."""
        return self.feed.data

    # ------------------------------------------------------------------------------ training
    @contextlib.contextmanager
    def _step_rng(self) -> Iterator[None]:
        """Torch's random state seeded from ``(seed, step)`` for one step, restored after it."""
        with seeded_rng(seed_int(self.seed, self.steps_done, 1), self.device):
            yield

    def _weight_step(self, loss: torch.Tensor) -> None:
        loss.backward()
        if self.grad_clip is not None:
            params = [p for p in self.supernet.parameters() if p.grad is not None]
            nn.utils.clip_grad_norm_(params, self.grad_clip)
        self._opt.step()

    def step(self, arch: ArchLike | None = None) -> float:
        """One SPOS step on one training minibatch (on ``arch``'s path if given, else on a
        uniformly drawn one); its training loss."""
        rng = np.random.default_rng([self.seed, self.steps_done])
        if arch is None:
            arch = self.supernet.sample_arch(rng)
        path = self.supernet.cell(arch)
        batch = self.feed.batch("train", self.steps_done, self.seed)
        with self._step_rng():
            self.supernet.train()
            self._opt.zero_grad(set_to_none=True)
            loss = batch.loss(self.supernet(*batch.inputs, path))
            self._weight_step(loss)
        self.steps_done += 1
        self.last_arch = arch
        return float(loss.detach())

    def train(self, steps: int) -> list[float]:
        """``steps`` training steps; their training losses."""
        if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 0:
            raise ValueError(f"steps must be an int >= 0, but got {steps=}.")
        return [self.step() for _ in range(int(steps))]

    # ---------------------------------------------------------------------------- evaluation
    def _eval(self, arch: ArchLike, split: str) -> tuple[float, float]:
        """(accuracy %, mean cross-entropy) of ``arch``'s path over ``split``, eval mode."""
        path = self.supernet.cell(arch)
        was_training = self.supernet.training
        self.supernet.eval()
        try:
            return self.feed.evaluate(lambda inputs: self.supernet(*inputs, path), split)
        finally:
            self.supernet.train(was_training)

    def evaluate(self, arch: ArchLike, split: str = "valid") -> float:
        """Accuracy (percent) of ``arch`` with its inherited weights on ``split`` (``"valid"``,
        ``"train"``, and ``"test"`` for a graph)."""
        return self._eval(arch, split)[0]

    def loss(self, arch: ArchLike, split: str = "valid") -> float:
        """Mean cross-entropy of ``arch`` with its inherited weights on ``split``."""
        return self._eval(arch, split)[1]

    def rank(self, archs: Iterable[ArchLike], score: str = "acc") -> np.ndarray:
        """Supernet scores of ``archs`` (higher = better): validation accuracy (``"acc"``) or
        negative validation loss (``"loss"``)."""
        return arch_scores(self, archs, score)

    def path_model(self, arch: ArchLike) -> PathModel:
        """``arch``'s sub-network as ``model(*inputs)`` sharing the supernet's weights."""
        return self.supernet.path_model(arch)

    # --------------------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training exactly: supernet weights, optimiser state, the
        seed and the step counter (see the module docstring)."""
        # copies: the optimiser's state_dict holds its live tensors, and a trainer loading them
        # would share (and step) them with this one
        return copy.deepcopy(
            {
                "supernet": self.supernet.state_dict(),
                "optimizer": self._opt.state_dict(),
                "seed": self.seed,
                "steps_done": self.steps_done,
            }
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` of a trainer of the same supernet shape, its seed
        included: this trainer then continues exactly as the saved one would have."""
        self.supernet.load_state_dict(state["supernet"])
        # a copy: torch keeps the caller's tensors when they already fit, and two trainers loading
        # one dict would then share (and step) the same optimiser buffers
        self._opt.load_state_dict(copy.deepcopy(state["optimizer"]))
        self.seed = _check_seed(int(state["seed"]))
        self.steps_done = int(state["steps_done"])

    def spawn(
        self, op_choices: OpChoices, *, inherit: bool = True, seed: int | None = None
    ) -> SPOSTrainer:
        """A trainer of the sub-supernet restricted to ``op_choices`` (same data and optimiser
        settings, a fresh optimiser); weights copied (``inherit``) or re-initialised."""
        seed = self.seed if seed is None else int(seed)
        sub = self.supernet.restrict(op_choices, inherit=inherit, seed=seed)
        return SPOSTrainer(
            sub,
            self.feed,
            optimizer=self.optimizer_name,
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            grad_clip=self.grad_clip,
            seed=seed,
            device=self.device,
        )
