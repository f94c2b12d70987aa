"""The supernet protocol: the base class every weight-sharing supernet implements.

One-shot NAS trains one over-parametrised network (the *supernet*) whose sub-networks are the
architectures of a space; every architecture then inherits its weights instead of being trained
(Guo et al., "Single Path One-Shot NAS with Uniform Sampling", https://arxiv.org/abs/1904.00420;
Liu et al., "DARTS: Differentiable Architecture Search", https://arxiv.org/abs/1806.09055).

A cell space is searched at a fixed number of *positions* (the computing nodes of a
NAS-Bench-Graph cell, the edges of a NAS-Bench-201 cell); position ``p`` holds one candidate
module per operation it may use (``op_choices[p]``). :class:`Supernet` implements what does not
depend on the space -- validating ``op_choices``, checking that an architecture is one of the
supernet's paths, restricting it to a sub-supernet (few-shot NAS), the one-path sub-network as a
plain model -- on top of a few hooks each space fills in, as PyG's ``MessagePassing`` does:

* :meth:`Supernet.ops_of`, :meth:`Supernet.cell`, :meth:`Supernet.sample_arch`, :meth:`Supernet.num_paths`,
  :meth:`Supernet.with_op`: the space's architectures;
* :meth:`Supernet.forward` (one path), :meth:`Supernet.path_parameters`,
  :meth:`Supernet.candidate_modules`, :meth:`Supernet.fresh`: the weights;
* :meth:`Supernet.init_arch_parameters`, :meth:`Supernet.forward_relaxed`,
  :meth:`Supernet.arch_log_prob`, :meth:`Supernet.derive`: DARTS's continuous relaxation.

:class:`~nas_meta_tune.oneshot.SPOSTrainer`, :class:`~nas_meta_tune.oneshot.DARTSTrainer` and
:class:`~nas_meta_tune.oneshot.SplitTree` work over any supernet that implements them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..exceptions import InvalidArchitectureError

if TYPE_CHECKING:
    from ..spaces._base import Architecture

__all__ = ["ArchLike", "PathModel", "Supernet", "arch_scores", "seed_int"]

ArchLike = Any  # an Architecture, its string, or the space's tuple form
OpChoices = Sequence[Sequence[str]]


def seed_int(*entropy: int) -> int:
    """One 32-bit seed from several integers (``numpy.random.SeedSequence``): how every random
    stream of the one-shot trainers is derived from ``(seed, step, ...)``."""
    return int(np.random.SeedSequence([int(e) for e in entropy]).generate_state(1)[0])


class Supernet(nn.Module):
    """Base class of weight-sharing supernets (see the module docstring for the hooks).

    Subclasses set the class attributes, call :meth:`normalise_choices` in their constructor,
    store the result as :attr:`op_choices` and their ``seed`` as :attr:`seed`.

    Attributes:
        space_name: The name of the search space (:func:`~nas_meta_tune.spaces.get_space`).
        vocabulary: The operations, in the order ``op_choices`` are normalised to.
        num_positions: How many positions the cell has.
        position_kind: What a position is called in messages (``"node"``, ``"edge"``).
        op_choices: The operations each position may use, in vocabulary order.
        seed: Seeds the initialisation (and a sub-supernet's fresh initialisation).
    """

    space_name: ClassVar[str]
    vocabulary: ClassVar[tuple[str, ...]]
    num_positions: ClassVar[int]
    position_kind: ClassVar[str] = "position"

    op_choices: tuple[tuple[str, ...], ...]
    seed: int

    # ------------------------------------------------------------------- hooks: the space
    def ops_of(self, arch: ArchLike) -> tuple[str, ...]:
        """The operation of ``arch`` at every position, ``arch`` checked to be in the space
        (not against :attr:`op_choices`).

        Raises:
            InvalidArchitectureError: ``arch`` is not an architecture of the space.
        """
        raise NotImplementedError

    def sample_arch(self, rng: np.random.Generator | int | None = None) -> Architecture:
        """One path drawn uniformly from this (sub-)supernet, from the numpy generator (or
        seed) ``rng``."""
        raise NotImplementedError

    def num_paths(self) -> int:
        """How many paths (architectures of the space) this (sub-)supernet holds."""
        raise NotImplementedError

    def with_op(self, arch: ArchLike, pos: int, op: str) -> ArchLike | None:
        """``arch`` with operation ``op`` at position ``pos``, or ``None`` when that is not an
        architecture of the space."""
        raise NotImplementedError

    def cell(self, arch: ArchLike) -> Any:
        """``arch`` in the form :meth:`forward` takes, checked to be a path of this
        (sub-)supernet (see :meth:`check_ops`)."""
        raise NotImplementedError

    def position_label(self, pos: int) -> str:
        """Where position ``pos`` is, for messages (``"node 2"``, ``"edge 2<-1"``)."""
        return f"{self.position_kind} {pos + 1}"

    def position_name(self, pos: int) -> str:
        """The space's parameter name of position ``pos`` (``"op_2"``, ``"edge_1_2"``)."""
        return f"op_{pos + 1}"

    def informative_context(self, ops: Sequence[str], pos: int) -> bool:
        """Whether a sampled path with operations ``ops`` is a good context to compare the
        operations of position ``pos`` in (few-shot splitting); default: always."""
        return True

    @classmethod
    def check_choices(cls, choices: tuple[tuple[str, ...], ...]) -> None:
        """Raise ``ValueError`` when normalised ``choices`` hold no architecture of the space."""

    @classmethod
    def choices_hint(cls) -> str:
        """Text added to the message of a wrong number of op sets (e.g. the edge order)."""
        return ""

    # ----------------------------------------------------------------- hooks: the weights
    def forward(self, *inputs: Any) -> torch.Tensor:
        """Logits of one path: ``supernet(*inputs, arch)``."""
        raise NotImplementedError

    def path_parameters(self, arch: ArchLike) -> list[nn.Parameter]:
        """The parameters ``arch``'s path uses."""
        raise NotImplementedError

    def candidate_modules(self, pos: int) -> list[nn.ModuleDict]:
        """Every ``ModuleDict`` (``op -> candidate``) of position ``pos`` (one per cell)."""
        raise NotImplementedError

    def fresh(self, op_choices: tuple[tuple[str, ...], ...], seed: int) -> Supernet:
        """A freshly initialised supernet of the same shape with ``op_choices``."""
        raise NotImplementedError

    # ------------------------------------------------------------------- hooks: DARTS
    def init_arch_parameters(self, generator: torch.Generator) -> list[torch.Tensor]:
        """DARTS's architecture parameters at initialisation (``1e-3 * N(0, 1)``), drawn from
        ``generator`` on the CPU."""
        raise NotImplementedError

    def forward_relaxed(self, inputs: Sequence[Any], arch_params: Sequence[torch.Tensor]) -> Any:
        """Logits of DARTS's continuous relaxation under the architecture parameters."""
        raise NotImplementedError

    def arch_weights(self, arch_params: Sequence[torch.Tensor]) -> Any:
        """The probabilities the architecture parameters give (the space's layout)."""
        raise NotImplementedError

    def arch_log_prob(self, arch_params: Sequence[torch.Tensor], arch: ArchLike) -> float:
        """Log P(``arch``) under the distribution of the architecture parameters."""
        raise NotImplementedError

    def derive(self, arch_params: Sequence[torch.Tensor]) -> Architecture:
        """The most likely architecture under the architecture parameters."""
        raise NotImplementedError

    # ------------------------------------------------------------------------- provided
    @classmethod
    def normalise_choices(cls, op_choices: OpChoices | None) -> tuple[tuple[str, ...], ...]:
        """``op_choices`` checked and sorted in vocabulary order (``None``: everything).

        Raises:
            ValueError: not one non-empty subset of the vocabulary per position, or no
                architecture of the space left.
        """
        n, vocab = cls.num_positions, cls.vocabulary
        if op_choices is None:
            return (vocab,) * n
        if isinstance(op_choices, str) or len(op_choices) != n:
            raise ValueError(
                f"op_choices needs one op set per {cls.position_kind} ({n}{cls.choices_hint()}), "
                f"got {op_choices!r}."
            )
        out = []
        for pos, ops in enumerate(op_choices):
            if isinstance(ops, str):
                raise ValueError(f"op_choices[{pos}] must be a sequence of op names, got {ops!r}.")
            if not ops or any(o not in vocab for o in ops):
                raise ValueError(
                    f"op_choices[{pos}] must be a non-empty subset of {list(vocab)}, "
                    f"got {list(ops)}."
                )
            out.append(tuple(o for o in vocab if o in set(ops)))  # vocabulary order
        choices = tuple(out)
        cls.check_choices(choices)
        return choices

    def check_ops(self, ops: Sequence[str]) -> tuple[str, ...]:
        """``ops`` (one per position), checked to be allowed by :attr:`op_choices`.

        Raises:
            InvalidArchitectureError: an operation this supernet does not hold there.
        """
        for pos, op in enumerate(ops):
            if op not in self.op_choices[pos]:
                raise InvalidArchitectureError(
                    f"operation {op!r} at {self.position_label(pos)} is not in this supernet's "
                    f"choices {list(self.op_choices[pos])}.",
                    space=self.space_name,
                )
        return tuple(ops)

    def contains(self, arch: ArchLike) -> bool:
        """Whether ``arch`` (an architecture of the space, else ``InvalidArchitectureError``) is
        a path of this (sub-)supernet."""
        return all(op in self.op_choices[p] for p, op in enumerate(self.ops_of(arch)))

    def candidate_parameters(self, pos: int) -> list[nn.Parameter]:
        """The parameters of every candidate operation of position ``pos``."""
        return [p for d in self.candidate_modules(pos) for m in d.values() for p in m.parameters()]

    def restrict(
        self, op_choices: OpChoices, *, inherit: bool = True, seed: int | None = None
    ) -> Supernet:
        """A sub-supernet whose positions may use only ``op_choices`` (each a subset of this
        one's).

        Args:
            op_choices: One op subset per position.
            inherit: Copy this supernet's weights (default); otherwise initialise afresh from
                ``seed``.
            seed: The sub-supernet's seed (default: this supernet's).

        Raises:
            ValueError: ``op_choices`` is malformed or not a subset of this supernet's.
        """
        choices = self.normalise_choices(op_choices)
        for pos, (sub, mine) in enumerate(zip(choices, self.op_choices)):
            if not set(sub) <= set(mine):
                raise ValueError(
                    f"op_choices[{pos}]={list(sub)} is not a subset of this supernet's {list(mine)}."
                )
        if not inherit:
            fresh = self.fresh(choices, self.seed if seed is None else int(seed))
            return fresh.to(next(self.parameters()).device)
        child = copy.deepcopy(self)
        for pos, ops in enumerate(choices):
            for cands in child.candidate_modules(pos):
                for op in [op for op in cands.keys() if op not in ops]:
                    del cands[op]
        child.op_choices = choices
        if seed is not None:
            child.seed = int(seed)
        return child

    def path_model(self, arch: ArchLike) -> PathModel:
        """``arch``'s sub-network as a plain model ``model(*inputs)`` sharing these weights."""
        return PathModel(self, arch)

    def extra_repr(self) -> str:
        """The op choices, for ``repr``."""
        return f"op_choices={'|'.join(','.join(c) for c in self.op_choices)!r}"


class PathModel(nn.Module):
    """One path of a supernet as a plain ``model(*inputs)`` (shared weights)."""

    def __init__(self, supernet: Supernet, arch: ArchLike) -> None:
        super().__init__()
        self.supernet = supernet
        self.arch = supernet.cell(arch)

    def forward(self, *inputs: Any) -> torch.Tensor:
        """Logits of the path: ``supernet(*inputs, arch)``."""
        return self.supernet(*inputs, self.arch)


def arch_scores(trainer: Any, archs: Iterable[ArchLike], score: str = "acc") -> np.ndarray:
    """Inherited-weight scores of ``archs`` from a trainer with ``evaluate(arch)`` and
    ``loss(arch)`` (higher = better): validation accuracy (``"acc"``) or negative validation
    loss (``"loss"``)."""
    if score not in ("acc", "loss"):
        raise ValueError(f"score must be 'acc' or 'loss', but got {score=}.")
    fn = trainer.evaluate if score == "acc" else (lambda a: -trainer.loss(a))
    return np.asarray([fn(a) for a in archs], dtype=float)
