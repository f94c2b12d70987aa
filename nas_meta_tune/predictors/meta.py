"""Meta-learning of the GCN predictor across NAS tasks: BOIL, MAML, ANIL and multitask.

An *episode* samples a task, a support set of K architectures and a query set. The inner loop
takes a few SGD steps on the support loss, updating only the parameters its rule allows; the outer
loop updates the initialisation from the query loss of the adapted parameters:

=============  =========================  =====================
algorithm      inner loop updates          outer loop updates
=============  =========================  =====================
``boil``       body (head frozen)          all (MP-NAS's choice; Oh et al., ICLR 2021)
``maml``       all                         all (Finn et al., ICML 2017)
``anil``       head only                   all (Raghu et al., ICLR 2020)
``multitask``  (none: pooled training)     all; adaptation fine-tunes all parameters
=============  =========================  =====================

``first_order=True`` drops the second-order terms (FOMAML); ``False`` back-propagates through
the inner loop (``create_graph=True``). Targets are rank-normalised within each support / query
set (:func:`~nas_meta_tune.predictors.tasks.normalize_scores`), exactly as at adaptation time,
where only the K support scores are known. ``zero_shot_weight`` adds the query loss of the
un-adapted initialisation, so the meta-initialisation is itself a useful zero-shot predictor
(K = 0).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from scipy.stats import spearmanr
from torch.func import functional_call

from .._device import seeded_rng
from .._logging import get_logger
from .._rng import as_generator, child_seed
from ..spaces._base import Architecture
from ..spaces.ops import OP_INDEX
from .gcn import GCNConfig, GCNPredictor, hide_tokens
from .tasks import NASTask, normalize_scores

__all__ = [
    "ALGORITHMS",
    "MetaConfig",
    "MetaTrainResult",
    "inner_param_names",
    "adapt_parameters",
    "select_adapt_steps",
    "meta_train",
    "train_from_scratch",
    "regression_loss",
]

ALGORITHMS = ("boil", "maml", "anil", "multitask")
_log = get_logger(__name__)


@dataclass
class MetaConfig:
    """Meta-training and adaptation hyperparameters (stored with the weights).

    Attributes:
        algorithm: One of :data:`ALGORITHMS`.
        steps: Outer-loop updates.
        meta_batch: Episodes (tasks) per outer update.
        k_range: Support-set size drawn uniformly from this inclusive range each episode.
        query: Query-set size.
        inner_steps: SGD steps of the inner loop (meta-training).
        inner_lr: Inner-loop learning rate.
        adapt_steps: SGD steps when adapting to a new task (default: ``inner_steps``).
        outer_lr: Adam learning rate of the outer loop.
        first_order: Drop second-order terms.
        zero_shot_weight: Weight of the un-adapted query loss in the outer objective.
        loss: ``"mse"``, ``"pairwise"`` (logistic ranking loss) or ``"mse+pairwise"``.
        grad_clip: Max global norm of the outer gradient.
        hide_tokens: Probability that an operation node's token is hidden (read as ``unknown``,
            descriptors kept) in a training episode, so the descriptors learn to carry what the
            token says (issue 22). 0 trains exactly as before the open vocabulary.
    """

    algorithm: str = "boil"
    steps: int = 1500
    meta_batch: int = 4
    k_range: tuple[int, int] = (5, 50)
    query: int = 100
    inner_steps: int = 5
    inner_lr: float = 0.05
    adapt_steps: int | None = None
    outer_lr: float = 1e-3
    first_order: bool = True
    zero_shot_weight: float = 0.5
    loss: str = "mse+pairwise"
    grad_clip: float = 5.0
    hide_tokens: float = 0.0

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, but got {self.algorithm=}.")
        if self.loss not in ("mse", "pairwise", "mse+pairwise"):
            raise ValueError(
                f"loss must be 'mse', 'pairwise' or 'mse+pairwise', but got {self.loss=}."
            )
        if not 0.0 <= self.hide_tokens < 1.0:
            raise ValueError(f"hide_tokens must be in [0, 1), but got {self.hide_tokens=}.")
        lo, hi = self.k_range
        if not 1 <= lo <= hi:
            raise ValueError(f"k_range must satisfy 1 <= low <= high, but got {self.k_range=}.")
        for name in ("steps", "meta_batch", "query", "inner_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, but got {getattr(self, name)}.")
        self.k_range = (int(lo), int(hi))

    @property
    def test_steps(self) -> int:
        """SGD steps when adapting to a new task (``adapt_steps``, default ``inner_steps``)."""
        return self.adapt_steps if self.adapt_steps is not None else self.inner_steps

    def to_dict(self) -> dict:
        """The configuration as a plain dict (``k_range`` as a list)."""
        d = asdict(self)
        d["k_range"] = list(self.k_range)
        return d


def inner_param_names(model: GCNPredictor, algorithm: str) -> list[str]:
    """Names of the parameters the algorithm's inner loop (and adaptation) updates."""
    if algorithm == "boil":
        return model.body_names()
    if algorithm == "anil":
        return model.head_names()
    if algorithm in ("maml", "multitask"):
        return [n for n, _ in model.named_parameters()]
    raise ValueError(f"algorithm must be one of {ALGORITHMS}, but got {algorithm=}.")


def regression_loss(
    pred: torch.Tensor, target: torch.Tensor, kind: str = "mse+pairwise"
) -> torch.Tensor:
    """MSE on rank-normalised targets and/or a logistic pairwise ranking loss."""
    loss = pred.new_zeros(())
    if "mse" in kind:
        loss = loss + torch.mean((pred - target) ** 2)
    if "pairwise" in kind and len(target) > 1:
        diff_t = target[:, None] - target[None, :]
        diff_p = pred[:, None] - pred[None, :]
        mask = diff_t > 0
        if mask.any():
            loss = loss + torch.nn.functional.softplus(-diff_p[mask]).mean()
    return loss


def _sgd_steps(
    model: GCNPredictor,
    params: dict[str, torch.Tensor],
    names: Sequence[str],
    inputs: tuple,
    target: torch.Tensor,
    steps: int,
    lr: float,
    loss_kind: str,
    create_graph: bool,
) -> dict[str, torch.Tensor]:
    for _ in range(steps):
        loss = regression_loss(functional_call(model, params, inputs), target, loss_kind)
        grads = torch.autograd.grad(
            loss, [params[n] for n in names], create_graph=create_graph, allow_unused=True
        )
        params = dict(params)
        for n, g in zip(names, grads):
            if g is not None:
                params[n] = params[n] - lr * g
    return params


def adapt_parameters(
    model: GCNPredictor,
    archs: Sequence[Architecture],
    scores: Sequence[float] | np.ndarray,
    *,
    algorithm: str,
    steps: int,
    lr: float,
    loss: str = "mse+pairwise",
) -> dict[str, torch.Tensor]:
    """Adapted parameters after ``steps`` inner-loop SGD steps on ``(archs, scores)``.

    The model itself is not modified; the returned tensors are detached copies.
    """
    path = _adaptation_path(
        model, archs, scores, algorithm=algorithm, checkpoints=[steps], lr=lr, loss=loss
    )
    return path[int(steps)]


def _adaptation_path(
    model: GCNPredictor,
    archs: Sequence[Architecture],
    scores: Sequence[float] | np.ndarray,
    *,
    algorithm: str,
    checkpoints: Sequence[int],
    lr: float,
    loss: str,
) -> dict[int, dict[str, torch.Tensor]]:
    """Detached parameters after each of ``checkpoints`` inner-loop steps of ONE adaptation run."""
    z = normalize_scores(scores)
    ok = np.isfinite(z)
    archs = [a for a, keep in zip(archs, ok) if keep]
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    wanted = sorted({int(c) for c in checkpoints})
    steps = wanted[-1] if wanted else 0
    if len(archs) < 2 or steps == 0:
        return {c: params for c in wanted}
    names = inner_param_names(model, algorithm)
    for n in names:
        params[n].requires_grad_(True)
    dev = next(model.parameters()).device
    target = torch.as_tensor(z[ok], dtype=torch.float32, device=dev)
    was_training = model.training
    model.eval()
    inputs = model.inputs(archs, device=dev)
    out: dict[int, dict[str, torch.Tensor]] = {}

    def keep(p: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {n: t.detach() for n, t in p.items()}

    try:
        with torch.enable_grad():
            previous = params
            for step in range(steps + 1):
                value = regression_loss(functional_call(model, params, inputs), target, loss)
                if not torch.isfinite(value):
                    # the last step diverged (too large a step for these samples): undo it and stop
                    _log.warning(
                        "adaptation diverged at step %d; keeping the last finite parameters", step
                    )
                    params = previous
                    break
                if step in wanted:
                    out[step] = keep(params)
                if step == steps:
                    break
                grads = torch.autograd.grad(value, [params[n] for n in names], allow_unused=True)
                previous = params
                params = dict(params)
                for n, g in zip(names, grads):
                    if g is not None:
                        params[n] = params[n] - lr * g
    finally:
        model.train(was_training)
    last = keep(params)
    return {c: out.get(c, last) for c in wanted}


def select_adapt_steps(
    model: GCNPredictor,
    archs: Sequence[Architecture],
    scores: Sequence[float] | np.ndarray,
    *,
    algorithm: str,
    candidates: Sequence[int],
    lr: float,
    loss: str = "mse+pairwise",
    folds: int = 5,
    seed: int = 0,
) -> tuple[int | None, dict[int, float]]:
    """The adaptation step count among ``candidates`` that ranks unseen samples best.

    ``folds``-fold cross-validation on the samples themselves: for each fold, one adaptation run
    on the other folds (checkpointed at every candidate) predicts the held-out fold; the
    out-of-fold predictions of all folds are pooled and compared with the scores by Spearman's
    rho. Step 0 is the un-adapted model, so the choice can also be "do not adapt" when adapting
    on so few samples would hurt. Ties go to the fewer steps. Pooling slightly favours step 0,
    whose predictions all come from one model, while an adapted candidate's come from ``folds``
    models with somewhat different offsets; per-fold correlations would be too noisy at K <= 20.

    Returns:
        ``(steps, {candidate: out-of-fold Spearman})``; ``(None, {})`` with fewer than 4 finite
        samples or all scores tied, where no meaningful validation is possible.
    """
    z = normalize_scores(scores)
    ok = np.isfinite(z)
    archs = [a for a, keep in zip(archs, ok) if keep]
    z = z[ok]
    n = len(archs)
    cands = sorted({int(c) for c in candidates})
    if not cands or cands[0] < 0:
        raise ValueError(f"candidates must be step counts >= 0, but got {list(candidates)}.")
    if folds < 2:
        raise ValueError(f"folds must be >= 2, but got {folds=}.")
    if n < 4 or np.ptp(z) == 0:  # too few samples, or all tied: nothing to validate against
        return None, {}
    k = min(int(folds), n)
    fold_of = np.random.default_rng(seed).permutation(np.arange(n) % k)
    dev = next(model.parameters()).device
    oof = {c: np.zeros(n) for c in cands}
    was_training = model.training
    model.eval()
    try:
        for f in range(k):
            test = np.flatnonzero(fold_of == f)
            train = np.flatnonzero(fold_of != f)
            path = _adaptation_path(
                model,
                [archs[i] for i in train],
                z[train],
                algorithm=algorithm,
                checkpoints=cands,
                lr=lr,
                loss=loss,
            )
            inputs = model.inputs([archs[i] for i in test], device=dev)
            with torch.no_grad():
                for c in cands:
                    oof[c][test] = functional_call(model, path[c], inputs).cpu().numpy()
    finally:
        model.train(was_training)
    rho: dict[int, float] = {}
    for c in cands:
        r = spearmanr(oof[c], z).statistic if np.ptp(oof[c]) > 0 else np.nan
        rho[c] = float(r) if np.isfinite(r) else 0.0  # constant predictions: no ranking
    best = max(cands, key=lambda c: (rho[c], -c))
    return best, rho


@dataclass
class MetaTrainResult:
    """A meta-trained model with its configuration and a training log."""

    model: GCNPredictor
    config: MetaConfig
    tasks: list[str]
    seconds: float
    history: list[float] = field(default_factory=list)


def _episode_sets(
    task: NASTask, k: int, q: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    n = len(task)
    k = min(k, n - 2)
    q = min(q, n - k)
    idx = rng.choice(n, size=k + q, replace=False)
    return idx[:k], idx[k:]


def _hidden(inputs: tuple, p: float) -> tuple:
    """The model inputs with tokens hidden at rate ``p`` (torch's seeded RNG; none at 0)."""
    if p <= 0:
        return inputs
    return (hide_tokens(inputs[0], p), *inputs[1:])


def _seen_tokens(tasks: Sequence[NASTask]) -> set[int]:
    """Vocabulary indices the tasks' spaces can use (the tokens meta-training sees)."""
    return {OP_INDEX[t] for task in tasks for t in task.archs[0].space.local_ops if task.archs}


def _episode_loss(
    model: GCNPredictor,
    names: Sequence[str],
    task: NASTask,
    cfg: MetaConfig,
    rng: np.random.Generator,
) -> torch.Tensor:
    """One episode of ``task``: a support set of ``k`` architectures adapts the inner parameters
    (none for ``multitask``), the loss is on the query set (plus the zero-shot loss, weighted)."""
    k = int(rng.integers(cfg.k_range[0], cfg.k_range[1] + 1))
    s_idx, q_idx = _episode_sets(task, k, cfg.query, rng)
    q_in = _hidden(model.inputs([task.archs[i] for i in q_idx]), cfg.hide_tokens)
    q_y = torch.as_tensor(normalize_scores(task.scores[q_idx]), dtype=torch.float32)
    if cfg.algorithm == "multitask":
        return regression_loss(model(*q_in), q_y, cfg.loss)
    params: dict[str, torch.Tensor] = dict(model.named_parameters())
    s_in = _hidden(model.inputs([task.archs[i] for i in s_idx]), cfg.hide_tokens)
    s_y = torch.as_tensor(normalize_scores(task.scores[s_idx]), dtype=torch.float32)
    adapted = _sgd_steps(
        model,
        params,
        names,
        s_in,
        s_y,
        cfg.inner_steps,
        cfg.inner_lr,
        cfg.loss,
        not cfg.first_order,
    )
    loss = regression_loss(functional_call(model, adapted, q_in), q_y, cfg.loss)
    if cfg.zero_shot_weight > 0:
        loss = loss + cfg.zero_shot_weight * regression_loss(model(*q_in), q_y, cfg.loss)
    return loss


def meta_train(
    tasks: Sequence[NASTask],
    algorithm: str | None = None,
    *,
    config: MetaConfig | None = None,
    gcn: GCNConfig | None = None,
    seed: int | None = 0,
    callback: Callable[[int, float], None] | None = None,
    time_budget_s: float | None = None,
) -> MetaTrainResult:
    """Meta-train a :class:`GCNPredictor` over ``tasks``.

    Args:
        tasks: Training tasks (any spaces: the graph form is unified).
        algorithm: Overrides ``config.algorithm`` if given.
        config: Meta-learning hyperparameters.
        gcn: Model sizes.
        seed: Seeds torch (inside a forked RNG state) and episode sampling.
        callback: Called as ``callback(step, mean_loss)`` every 50 steps.
        time_budget_s: Stop early after this many seconds.
    """
    if not tasks:
        raise ValueError("meta_train needs at least one task.")
    cfg = config or MetaConfig()
    if algorithm is not None:
        cfg = MetaConfig(**{**cfg.to_dict(), "algorithm": algorithm, "k_range": tuple(cfg.k_range)})
    rng = as_generator(seed)
    start = time.perf_counter()
    with seeded_rng(child_seed(rng)):
        model = GCNPredictor(gcn)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=cfg.outer_lr)
        names = inner_param_names(model, cfg.algorithm)
        # cosine decay of the outer learning rate
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps))
        )
        history: list[float] = []
        running = []
        for step in range(cfg.steps):
            opt.zero_grad(set_to_none=True)
            total = 0.0
            for _ in range(cfg.meta_batch):
                task = tasks[int(rng.integers(len(tasks)))]
                loss = _episode_loss(model, names, task, cfg, rng)
                (loss / cfg.meta_batch).backward()
                total += float(loss.detach()) / cfg.meta_batch
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            running.append(total)
            if (step + 1) % 50 == 0:
                history.append(float(np.mean(running)))
                running = []
                if callback is not None:
                    callback(step + 1, history[-1])
            if time_budget_s is not None and time.perf_counter() - start > time_budget_s:
                _log.warning(
                    "meta_train stopped by its time budget after %d of %d steps",
                    step + 1,
                    cfg.steps,
                )
                break
    model.eval()
    unseen = model.read_unseen_as_unknown(sorted(_seen_tokens(tasks)))
    if unseen:
        _log.info("tokens no training task uses, read as 'unknown': %s", ", ".join(unseen))
    return MetaTrainResult(
        model, cfg, [t.name for t in tasks], time.perf_counter() - start, history
    )


def train_from_scratch(
    archs: Sequence[Architecture],
    scores: Sequence[float] | np.ndarray,
    *,
    gcn: GCNConfig | None = None,
    steps: int = 200,
    lr: float = 3e-3,
    loss: str = "mse+pairwise",
    seed: int | None = 0,
) -> GCNPredictor:
    """A GCN trained from a random initialisation on the given few samples (the baseline)."""
    rng = as_generator(seed)
    with seeded_rng(child_seed(rng)):
        model = GCNPredictor(gcn)
        z = normalize_scores(scores)
        ok = np.isfinite(z)
        if ok.sum() >= 2:
            inputs = model.inputs([a for a, keep in zip(archs, ok) if keep])
            target = torch.as_tensor(z[ok], dtype=torch.float32)
            opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
            model.train()
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                regression_loss(model(*inputs), target, loss).backward()
                opt.step()
    model.eval()
    return model
