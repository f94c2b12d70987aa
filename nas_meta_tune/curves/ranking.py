"""LCRankNet: learning to rank partial learning curves (Wistuba & Pedapati, ICML 2020).

Instead of predicting a run's final value, LCRankNet learns a score ``f(x)`` of a partial curve
(plus an architecture encoding and a dataset embedding) such that

    p(m_i > m_j) = sigmoid(f(x_i) - f(x_j)),

trained with the pairwise cross-entropy
``-sum_ij [p_ij log p_hat_ij + (1 - p_ij) log(1 - p_hat_ij)]`` where ``p_ij = 1`` if run ``i``
ended above run ``j`` (``0.5`` on ties). A run is then stopped when its probability of beating the
incumbent is low (:meth:`LCRankNet.prob_better`), which in the paper's random-search experiments
saved most of the compute at almost no regret.

The network follows the paper's components:

* **learning curve**: the partial curve resampled at 50 fixed fractions of ``target_step``
  (positions after the current step masked), 1-D convolutions with kernel sizes 2 to 5 and a
  masked max-pool over time, plus the last value and the progress ``step / target``;
* **architecture**: an MLP embedding of a ``feature_dim`` encoding (the paper used an LSTM over
  the architecture string; any fixed-length encoding works here);
* **dataset**: a learned ``task_dim`` embedding per task id (transfer across datasets; an unseen
  task uses a shared "unknown task" row, trained by dropping task ids at random);
* a fully connected head giving the scalar score.

Training pairs are runs of the same task, each truncated at an independent random fraction.
Calling :meth:`LCRankNet.fit` again continues from the current weights (fine-tuning on a new
task after pre-training on others).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .data import clean_curve

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["LCRankNet"]

_GRID = 50
_LEVELS = np.linspace(0.05, 1.0, 20)


def _torch() -> Any:
    """``torch``, imported on first use (importing the curves package stays light)."""
    import torch

    return torch


def _resample(
    steps: np.ndarray, values: np.ndarray, target: float
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(values at ``_GRID`` fractions of target, mask, last value, progress) of a clean curve."""
    grid = np.arange(1, _GRID + 1) / _GRID * target
    if values.size == 0:
        return np.zeros(_GRID), np.zeros(_GRID), 0.0, 0.0
    mask = (grid <= steps[-1] * (1 + 1e-9)).astype(np.float64)
    vals = np.interp(grid, steps, values) * mask
    return vals, mask, float(values[-1]), float(min(steps[-1] / target, 2.0))


def _build_net(feature_dim: int, task_dim: int, n_tasks: int, hidden: int) -> nn.Module:
    # imported here, not through _torch(), so that the checker knows the modules' types
    import torch
    from torch import nn

    class _Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            ch = max(4, hidden // 4)
            self.convs = nn.ModuleList(nn.Conv1d(2, ch, k) for k in (2, 3, 4, 5))
            self.curve_out = 4 * ch
            self.arch = (
                nn.Sequential(nn.Linear(feature_dim, hidden), nn.ReLU()) if feature_dim else None
            )
            self.task = nn.Embedding(n_tasks + 1, task_dim) if task_dim else None
            width = self.curve_out + 2 + (hidden if feature_dim else 0) + task_dim
            self.head = nn.Sequential(
                nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                nn.Linear(hidden, 1),
            )  # fmt: skip
            # linear skip from (last value, progress): ranking by the last value is one step away
            self.skip = nn.Linear(2, 1)

        def forward(
            self,
            curve: torch.Tensor,
            scalars: torch.Tensor,
            feats: torch.Tensor | None,
            tasks: torch.Tensor | None,
        ) -> torch.Tensor:
            mask = curve[:, 1:2, :]
            pooled = []
            for k, conv in zip((2, 3, 4, 5), self.convs):
                h = torch.relu(conv(curve))
                # a window counts only if it lies entirely in the observed part
                m = torch.nn.functional.max_pool1d(-mask, k, stride=1) * -1.0
                h = h * m - (1.0 - m) * 1e4
                p = h.max(dim=2).values
                pooled.append(torch.where(p < -1e3, torch.zeros_like(p), p))
            parts = [torch.cat(pooled, dim=1), scalars]
            if self.arch is not None and feats is not None:
                parts.append(self.arch(feats))
            if self.task is not None and tasks is not None:
                parts.append(self.task(tasks))
            return (self.head(torch.cat(parts, dim=1)) + self.skip(scalars)).squeeze(1)

    return _Net()


def _check_fit_args(n_curves: int, y: np.ndarray, epochs: int, lr: float, batch_size: int) -> None:
    n = y.size
    if n_curves != n or n < 2:
        raise ValueError(f"need >= 2 curves with one final each, got {n_curves} and {n}.")
    if not np.isfinite(y).all():
        raise ValueError("finals must be finite.")
    if not (isinstance(epochs, int) and epochs >= 0):
        raise ValueError(f"epochs must be an int >= 0, but got {epochs=}.")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be > 0, but got {lr=}.")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive int, but got {batch_size=}.")


class LCRankNet:
    """Pairwise learning-curve ranker (Wistuba & Pedapati 2020); see the module docstring.

    Args:
        feature_dim: Length of the architecture / configuration encoding passed as
            ``features`` (0: none).
        task_dim: Size of the learned per-task embedding (0: tasks are ignored).
        hidden: Width of the hidden layers.
        seed: Seed of the weight initialisation and of the training pairs.

    Example:
        >>> net = LCRankNet(seed=0)
        >>> curves = [([1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4]), ([1, 2, 3, 4], [0.1, 0.15, 0.17, 0.18])]
        >>> net = net.fit(curves, [0.6, 0.2], epochs=100)  # doctest: +SKIP
        >>> net.prob_better(curves[0], curves[1], target_step=4) > 0.5  # doctest: +SKIP
        True
    """

    def __init__(
        self, *, feature_dim: int = 0, task_dim: int = 0, hidden: int = 64, seed: int | None = 0
    ) -> None:
        for name, val, lo in (
            ("feature_dim", feature_dim, 0),
            ("task_dim", task_dim, 0),
            ("hidden", hidden, 4),
        ):
            if not isinstance(val, (int, np.integer)) or val < lo:
                raise ValueError(f"{name} must be an int >= {lo}, but got {name}={val!r}.")
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int or None, but got {seed=}.")
        self.feature_dim = int(feature_dim)
        self.task_dim = int(task_dim)
        self.hidden = int(hidden)
        self.seed = seed
        self.target_step: float | None = None
        self.tasks: list[str] = []
        self._shift = 0.0
        self._scale = 1.0
        self._net: Any = None
        self._rng = np.random.default_rng(seed)

    def __repr__(self) -> str:
        return (
            f"LCRankNet(feature_dim={self.feature_dim}, task_dim={self.task_dim}, "
            f"hidden={self.hidden}, seed={self.seed})"
        )

    # ------------------------------------------------------------------ helpers
    def _init_net(self, n_tasks: int) -> None:
        _torch()  # a clear error when torch is missing
        from .._device import seeded_rng  # imports torch

        with seeded_rng(int(self._rng.integers(2**31 - 1))):
            self._net = _build_net(self.feature_dim, self.task_dim, n_tasks, self.hidden)
        self._net.double()

    def _grow_tasks(self, names: Sequence[str]) -> None:
        new = [t for t in dict.fromkeys(names) if t not in self.tasks]
        if not new:
            return
        torch = _torch()
        self.tasks.extend(new)
        if self._net is None or self._net.task is None:
            return
        old = self._net.task.weight.data
        emb = torch.nn.Embedding(len(self.tasks) + 1, self.task_dim).double()
        with torch.no_grad():
            gen = torch.Generator().manual_seed(int(self._rng.integers(2**31 - 1)))
            emb.weight.copy_(torch.randn(emb.weight.shape, generator=gen, dtype=torch.float64))
            emb.weight[: old.shape[0]] = old
            emb.weight[old.shape[0] :] = old[0]  # new tasks start from the "unknown task" row
        self._net.task = emb

    def _task_index(self, task: Hashable | None) -> int:
        if task is None:
            return 0
        key = str(task)
        return self.tasks.index(key) + 1 if key in self.tasks else 0

    def _check_features(self, feats: Any, n: int) -> np.ndarray | None:
        if self.feature_dim == 0:
            return None
        if feats is None:
            raise ValueError(f"features of dimension {self.feature_dim} are required.")
        f = np.asarray(feats, dtype=np.float64).reshape(n, -1)
        if f.shape[1] != self.feature_dim or not np.isfinite(f).all():
            raise ValueError(
                f"features must be finite with {self.feature_dim} columns, but got shape {f.shape}."
            )
        return f

    def _encode(
        self, curves: Sequence[tuple[np.ndarray, np.ndarray]], target: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(float64[n, 2, GRID], float64[n, 2])`` network inputs, values standardised."""
        n = len(curves)
        x = np.zeros((n, 2, _GRID))
        sc = np.zeros((n, 2))
        for i, (s, v) in enumerate(curves):
            vals, mask, last, prog = _resample(s, v, target)
            x[i, 0] = (vals - self._shift * mask) / self._scale
            x[i, 1] = mask
            sc[i] = ((last - self._shift) / self._scale if v.size else 0.0, prog)
        return x, sc

    # ------------------------------------------------------------------ training
    def fit(
        self,
        curves: Sequence[Any],
        finals: Sequence[float],
        *,
        features: np.ndarray | None = None,
        tasks: Sequence[Hashable] | None = None,
        target_step: float | None = None,
        epochs: int = 60,
        lr: float = 3e-3,
        batch_size: int = 128,
    ) -> LCRankNet:
        """Train (or continue training) with the pairwise ranking loss.

        Args:
            curves: Complete (or long) runs as ``(steps, values)`` pairs; each training pair
                truncates them at independent random fractions of ``target_step``.
            finals: Final value of each run (higher is better); only their order within a task
                matters.
            features: ``float[len(curves), feature_dim]`` encodings (required iff
                ``feature_dim > 0``).
            tasks: Task id of each run; pairs are drawn within a task. ``None``: one task.
            target_step: The step the finals refer to (default: the largest step seen; kept
                from the first fit).
            epochs: Passes; each draws ``len(curves)`` pairs.
            lr: Adam learning rate.
            batch_size: Pairs per gradient step.

        Returns:
            ``self``.

        Raises:
            ValueError: On mismatched lengths, non-finite finals, bad features or options.
        """
        y = np.asarray(finals, dtype=np.float64).reshape(-1)
        n = y.size
        _check_fit_args(len(curves), y, epochs, lr, batch_size)
        cleaned = [clean_curve(c[0], c[1]) for c in curves]
        feats = self._check_features(features, n)
        # without task ids every run belongs to the shared "unknown task" row (index 0)
        task_names = [] if tasks is None else [str(t) for t in tasks]
        if tasks is not None and len(task_names) != n:
            raise ValueError(f"got {len(task_names)} tasks for {n} curves.")
        self._set_target(cleaned, y, target_step)
        if self._net is None:
            self._grow_tasks(task_names)
            self._init_net(len(self.tasks))
        else:
            self._grow_tasks(task_names)
        if tasks is None:
            tidx = np.zeros(n, dtype=np.int64)
        else:
            tidx = np.array([self._task_index(t) for t in task_names], dtype=np.int64)
        self._train_pairs(self._encode_levels(cleaned), feats, tidx, y, epochs, lr, batch_size)
        return self

    def _set_target(
        self,
        cleaned: list[tuple[np.ndarray, np.ndarray]],
        y: np.ndarray,
        target_step: float | None,
    ) -> None:
        """Fix the ranking step and the value scaling at the first fit; check them later."""
        if self.target_step is None:
            if target_step is None:
                ends = [float(s[-1]) for s, _ in cleaned if s.size]
                if not ends:
                    raise ValueError("the curves hold no finite points.")
                target_step = max(ends)
            t = float(target_step)
            if not (math.isfinite(t) and t > 0):
                raise ValueError(f"target_step must be finite and > 0, but got {target_step=}.")
            self.target_step = t
            allv = np.concatenate([v for _, v in cleaned] + [y])
            self._shift = float(np.mean(allv))
            self._scale = float(np.std(allv)) or 1.0
        elif target_step is not None and not math.isclose(float(target_step), self.target_step):
            raise ValueError(
                f"this model ranks at step {self.target_step}, but got {target_step=}."
            )

    def _encode_levels(
        self, cleaned: list[tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every curve encoded truncated at every level: ``float64[n, L, 2, GRID]`` and its
        scalars ``float64[n, L, 2]``."""
        target = self.target_step
        assert target is not None
        n_lv = _LEVELS.size
        enc = np.zeros((len(cleaned), n_lv, 2, _GRID))
        scal = np.zeros((len(cleaned), n_lv, 2))
        for j, lv in enumerate(_LEVELS):
            trunc = [
                (s[s <= lv * target * (1 + 1e-9)], v[s <= lv * target * (1 + 1e-9)])
                for s, v in cleaned
            ]
            enc[:, j], scal[:, j] = self._encode(trunc, target)
        return enc, scal

    def _train_pairs(
        self,
        encoded: tuple[np.ndarray, np.ndarray],
        feats: np.ndarray | None,
        tidx: np.ndarray,
        y: np.ndarray,
        epochs: int,
        lr: float,
        batch_size: int,
    ) -> None:
        """Adam on the pairwise ranking loss, pairs drawn within a task at random levels."""
        torch = _torch()
        net = self._net
        n, n_lv = y.size, _LEVELS.size
        enc_t = torch.from_numpy(encoded[0])
        scal_t = torch.from_numpy(encoded[1])
        feats_t = None if feats is None else torch.from_numpy(feats)
        groups: dict[int, np.ndarray] = {}
        for g in np.unique(tidx):
            groups[int(g)] = np.flatnonzero(tidx == g)
        pool = np.array([i for i in range(n) if groups[int(tidx[i])].size > 1])
        if pool.size == 0:
            raise ValueError("every task has a single run; ranking needs >= 2 runs of one task.")
        rng = self._rng
        opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-5)
        net.train()
        steps_per_epoch = max(1, math.ceil(n / batch_size))
        from .._device import seeded_rng

        with seeded_rng(int(rng.integers(2**31 - 1))):
            for _ in range(epochs * steps_per_epoch):
                i = rng.choice(pool, size=batch_size)
                j = np.array([rng.choice(groups[int(tidx[a])]) for a in i])
                li = rng.integers(n_lv, size=batch_size)
                lj = rng.integers(n_lv, size=batch_size)
                label = torch.from_numpy(0.5 * (np.sign(y[i] - y[j]) + 1.0))
                ti = tj = None
                if self.task_dim:
                    drop = rng.random(batch_size) < 0.2  # trains the "unknown task" row too
                    t_i = np.where(drop, 0, tidx[i])
                    ti = torch.from_numpy(t_i)
                    tj = ti
                fi = fj = None
                if feats_t is not None:
                    fi, fj = feats_t[i], feats_t[j]
                si = net(enc_t[i, li], scal_t[i, li], fi, ti)
                sj = net(enc_t[j, lj], scal_t[j, lj], fj, tj)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(si - sj, label)
                opt.zero_grad()
                loss.backward()
                opt.step()
        net.eval()

    # ---------------------------------------------------------------- inference
    def _scores(
        self,
        curves: Sequence[tuple[Any, Any]],
        target_step: float,
        features: Any,
        task: Hashable | None,
    ) -> np.ndarray:
        torch = _torch()
        if self._net is None or self.target_step is None:
            raise RuntimeError("LCRankNet is not fitted; call fit() or load_state_dict() first.")
        t = float(target_step)
        if not math.isclose(t, self.target_step, rel_tol=1e-9):
            raise ValueError(
                f"this model ranks at step {self.target_step}, but got {target_step=}."
            )
        cleaned = [clean_curve(c[0], c[1]) for c in curves]
        feats = self._check_features(features, len(cleaned))
        x, sc = self._encode(cleaned, t)
        tid = None
        if self.task_dim:
            tid = torch.full((len(cleaned),), self._task_index(task), dtype=torch.long)
        with torch.no_grad():
            out = self._net(
                torch.from_numpy(x),
                torch.from_numpy(sc),
                None if feats is None else torch.from_numpy(feats),
                tid,
            )
        return out.numpy().astype(np.float64)

    def score(
        self,
        steps: Any,
        values: Any,
        target_step: float,
        features: np.ndarray | None = None,
        task: Hashable | None = None,
    ) -> float:
        """Score of a partial curve: higher means predicted to end higher (within its task).

        Raises:
            RuntimeError: If the model was never fitted or loaded.
            ValueError: On a ``target_step`` other than the fitted one or bad ``features``.
        """
        return float(self._scores([(steps, values)], target_step, features, task)[0])

    def score_many(
        self,
        curves: Sequence[tuple[Any, Any]],
        target_step: float,
        features: np.ndarray | None = None,
        task: Hashable | None = None,
    ) -> np.ndarray:
        """Scores of several partial curves of one task (``features``: one row per curve)."""
        return self._scores(curves, target_step, features, task)

    def prob_better(
        self,
        curve_i: tuple[Any, Any],
        curve_j: tuple[Any, Any],
        target_step: float,
        *,
        features_i: np.ndarray | None = None,
        features_j: np.ndarray | None = None,
        task: Hashable | None = None,
    ) -> float:
        """``P(run i ends above run j) = sigmoid(f(x_i) - f(x_j))`` for two ``(steps, values)``
        curves of the same task (either may be complete)."""
        fi = self._scores([curve_i], target_step, features_i, task)[0]
        fj = self._scores([curve_j], target_step, features_j, task)[0]
        d = float(fi - fj)
        return 1.0 / (1.0 + math.exp(-d)) if d >= 0 else math.exp(d) / (1.0 + math.exp(d))

    # --------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild the model: tensors and plain Python values (picklable)."""
        if self._net is None:
            raise RuntimeError("LCRankNet is not fitted; nothing to save.")
        return {
            "format": 1,
            "feature_dim": self.feature_dim,
            "task_dim": self.task_dim,
            "hidden": self.hidden,
            "target_step": self.target_step,
            "tasks": list(self.tasks),
            "shift": self._shift,
            "scale": self._scale,
            "weights": {k: v.detach().clone() for k, v in self._net.state_dict().items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> LCRankNet:
        """Restore a :meth:`state_dict` (the architecture settings are taken from it).

        Raises:
            ValueError: If ``state`` is not a state dict of this class.
        """
        keys = {"format", "feature_dim", "task_dim", "hidden", "target_step", "tasks", "weights"}
        if not isinstance(state, dict) or not keys <= set(state) or state["format"] != 1:
            raise ValueError("state must be a dict returned by LCRankNet.state_dict().")
        self.feature_dim = int(state["feature_dim"])
        self.task_dim = int(state["task_dim"])
        self.hidden = int(state["hidden"])
        self.target_step = float(state["target_step"])
        self.tasks = [str(t) for t in state["tasks"]]
        self._shift = float(state["shift"])
        self._scale = float(state["scale"])
        self._init_net(len(self.tasks))
        self._net.load_state_dict(state["weights"])
        self._net.eval()
        return self
