"""In-context learning-curve extrapolation in the style of LC-PFN (Adriaensen et al., NeurIPS 2023).

A prior-data fitted network (PFN) is a transformer trained once, on curves drawn from a prior,
to output the posterior predictive distribution of a curve's value at any later step given its
first values: Bayesian inference done by one forward pass, no fitting per curve.

* **Prior** (:func:`sample_prior_curves`): curves ``y(x) = y0 + (c - y0) * g(x)`` on epochs
  ``x = 1..T`` in normalised units (``[0, 1]``), where the progress ``g`` is a weighted mix of
  Domhan et al.'s increasing families (pow3, ilog2, Janoschek/Weibull, exponential saturation,
  Hill / log-power, MMF): each family joins with probability ``k / 6`` for a ``k`` drawn from
  1-3 (two families on average; pow3 alone when none joins) with a Gamma(1) weight, and the
  weights are normalised. Then i.i.d. Gaussian noise of log-uniform scale and, with probability
  0.15, a late linear decline (over-fitting); values are clipped to ``[0, 1]``. LC-PFN's own
  prior mixes pow3, ilog2 and Janoschek; ours covers the families :class:`ParametricEnsemble` fits.
* **Model** (:class:`LCPFN`): each observed point ``(x / T, y)`` is a context token, each query
  step ``x / T`` a query token; queries attend to the context only; the output is a *Riemann*
  (bar) distribution over ``[0, 1]`` with ``buckets`` equal-width bins, trained by cross-entropy
  on prior curves (``train_lcpfn``). Curves longer than ``max_context`` points are subsampled
  (evenly, first and last point kept).
* **Shipped weights**: ``curves/weights/lcpfn.pt`` (trained here, on the CPU, by
  ``nas-meta-tune train-lcpfn --install``; the upstream ``lcpfn`` package downloads its
  weights at run time, which cannot work offline). The file's SHA-256 is recorded in
  ``curves/weights/MANIFEST.json`` and checked before loading.

Values go in and out in the caller's units: :meth:`LCPFN.predict` maps them to ``[0, 1]`` with
``bounds`` (e.g. ``(0, 100)`` for accuracies in percent) and returns a
:class:`~nas_meta_tune.curves.decisions.CurvePrediction` that carries the bars, so
``P(final >= best)`` is read exactly from them (the top bar holding the mass clipped at the
upper bound: a curve tied with a best final of 100% is not certain to lose).

Example:
    >>> from nas_meta_tune.curves.pfn import LCPFN
    >>> pfn = LCPFN.pretrained()
    >>> pred = pfn.predict([1, 2, 3, 4, 5], [40, 55, 62, 66, 68], target_step=50, bounds=(0, 100))
    >>> 68 < pred.mean < 100
    True
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._logging import get_logger
from .._rng import as_generator
from .._state import atomic_write_bytes
from ..exceptions import CorruptWeightsError
from .decisions import CurvePrediction, clean_curve

if TYPE_CHECKING:
    import torch

__all__ = [
    "LCPFN",
    "PFNConfig",
    "PRIOR_FAMILIES",
    "PFN_WEIGHTS_DIR",
    "install_pfn_weights",
    "prior_cross_entropy",
    "sample_prior_curves",
    "train_lcpfn",
]

_log = get_logger(__name__)

#: directory of the shipped LC-PFN weights and their ``MANIFEST.json``
PFN_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
_FORMAT = 1

#: the families whose progress functions the prior mixes
PRIOR_FAMILIES = ("pow3", "ilog2", "janoschek", "exp", "hill", "mmf")


def _torch() -> Any:
    """``torch``, imported on first use (importing the curves package stays light)."""
    import torch

    return torch


# ------------------------------------------------------------------------------- the prior
def _log_uniform(rng: np.random.Generator, lo: float, hi: float, size: Any) -> np.ndarray:
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size))


def _progress(family: str, x: np.ndarray, T: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random progress curves ``g(x)`` of one family, 0 at ``x = 1``, rising towards 1.

    ``x`` is ``float[T]`` (epochs ``1..T``); returns ``float[n, T]``. Janoschek, exponential,
    Hill and MMF are parameterised by where they are half-way (``h``, log-uniform from 0.3 to
    ``3 T`` epochs) and a shape exponent, pow3 by its exponent and ilog2 by a time stretch, so
    the prior spreads curves between "converged after an epoch or two" and "far from converged
    at T".
    """
    xx = x[None, :]
    if family == "pow3":  # c - a x^-alpha
        alpha = _log_uniform(rng, 0.05, 3.0, (n, 1))
        return 1.0 - np.exp(-alpha * np.log(xx))
    if family == "ilog2":  # c - a / log(x + 1), stretched in time
        s = _log_uniform(rng, 0.05, 2.0, (n, 1))
        z = 1.0 + s * (xx - 1.0)
        return 1.0 - math.log(2.0) / np.log1p(z)
    h = _log_uniform(rng, 0.3, 3.0 * T, (n, 1))  # half-way epoch (after epoch 1)
    if family == "janoschek":  # c - (c - y0) exp(-k (x - 1)^delta)
        delta = _log_uniform(rng, 0.3, 3.0, (n, 1))
        return 1.0 - np.exp(-math.log(2.0) * ((xx - 1.0) / h) ** delta)
    if family == "exp":
        return 1.0 - np.exp(-math.log(2.0) * (xx - 1.0) / h)
    if family in ("hill", "mmf"):  # x^eta / (k^eta + x^eta), rescaled to start at 0
        eta = _log_uniform(rng, 0.3, 4.0 if family == "hill" else 1.5, (n, 1))
        k = 1.0 + h
        r = 1.0 / (1.0 + (k / xx) ** eta)
        r0 = 1.0 / (1.0 + k**eta)
        return (r - r0) / (1.0 - r0)
    raise ValueError(f"unknown prior family {family!r}; choose from {PRIOR_FAMILIES}.")


def sample_prior_curves(
    n: int, length: int, seed: int | np.random.Generator | None = None
) -> np.ndarray:
    """``float32[n, length]`` curves from the LC-PFN prior, in ``[0, 1]``, epochs ``1..length``.

    Synthetic by construction: this is the prior the network is trained on, not data.
    """
    if n < 1 or length < 2:
        raise ValueError(f"need n >= 1 and length >= 2, but got {n=}, {length=}.")
    rng = as_generator(seed)
    T = float(length)
    x = np.arange(1, length + 1, dtype=np.float64)
    # the mix: each family joins with probability k / len(families) (k = 1-3 on average),
    # Gamma(1) weights normalised to sum 1 (a Dirichlet over the families drawn)
    k = rng.integers(1, 4, n)
    g = np.zeros((n, length))
    weights_sum = np.zeros(n)
    for fam in PRIOR_FAMILIES:
        pick = rng.random(n) < (k / len(PRIOR_FAMILIES))
        w = np.where(pick, rng.gamma(1.0, 1.0, n), 0.0)
        weights_sum += w
        g += w[:, None] * _progress(fam, x, T, rng, n)
    none = weights_sum == 0
    if none.any():  # no family drawn: a pow3 curve
        g[none] = _progress("pow3", x, T, rng, int(none.sum()))
        weights_sum[none] = 1.0
    g /= weights_sum[:, None]
    y0 = rng.uniform(0.0, 0.9, (n, 1))
    c = y0 + (1.0 - y0) * rng.beta(2.0, 1.2, (n, 1))
    y = y0 + (c - y0) * g
    # late decline (over-fitting) on some curves
    dec = rng.random(n) < 0.15
    if dec.any():
        start = rng.uniform(0.2, 0.9, (n, 1)) * T
        slope = rng.uniform(0.0, 0.15, (n, 1)) * (c - y0 + 0.05)
        y = y - np.where(dec[:, None], slope * np.maximum(x[None, :] - start, 0.0) / T, 0.0)
    noise = _log_uniform(rng, 1e-3, 0.08, (n, 1))
    y = y + noise * rng.standard_normal((n, length))
    return np.clip(y, 0.0, 1.0).astype(np.float32)


# ------------------------------------------------------------------------------- the network
@dataclass(frozen=True)
class PFNConfig:
    """Sizes of the LC-PFN transformer (stored with the weights)."""

    d_model: int = 64
    layers: int = 3
    heads: int = 4
    ff: int = 128
    buckets: int = 200
    max_context: int = 40

    def to_dict(self) -> dict[str, int]:
        """The configuration as a plain dict."""
        return asdict(self)


def _build_net(cfg: PFNConfig) -> Any:
    # imported here, not through _torch(), so that the checker knows the modules' types
    import torch
    from torch import nn

    class _Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.x_enc = nn.Sequential(
                nn.Linear(2, cfg.d_model), nn.GELU(), nn.Linear(cfg.d_model, cfg.d_model)
            )
            self.y_enc = nn.Linear(1, cfg.d_model)
            layer = nn.TransformerEncoderLayer(
                cfg.d_model,
                cfg.heads,
                cfg.ff,
                dropout=0.0,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(cfg.d_model)
            self.out = nn.Linear(cfg.d_model, cfg.buckets)

        @staticmethod
        def _time(u: torch.Tensor) -> torch.Tensor:
            return torch.stack([u, torch.log(u.clamp(min=1e-3))], -1)

        def forward(self, cu: torch.Tensor, cy: torch.Tensor, qu: torch.Tensor) -> torch.Tensor:
            """Logits ``[B, Q, buckets]`` for context ``(cu, cy) [B, C]`` and queries ``qu [B, Q]``."""
            ctx = self.x_enc(self._time(cu)) + self.y_enc(cy.unsqueeze(-1))
            qry = self.x_enc(self._time(qu))
            h = torch.cat([ctx, qry], 1)
            n_c, n = cu.shape[1], h.shape[1]
            # every token attends to the context tokens only (PFN: queries never see each other)
            mask = torch.full((n, n), float("-inf"), dtype=h.dtype, device=h.device)
            mask[:, :n_c] = 0.0
            h = self.encoder(h, mask=mask)
            return self.out(self.norm(h[:, n_c:]))

    return _Net()


def _subsample(n: int, max_context: int) -> np.ndarray:
    """Indices of at most ``max_context`` of ``n`` points, evenly spread, the last one included."""
    if n <= max_context:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_context)).astype(int))


@dataclass
class _Batch:
    cu: np.ndarray
    cy: np.ndarray
    qu: np.ndarray
    qy: np.ndarray


def _prior_batch(
    rng: np.random.Generator,
    batch: int,
    max_context: int,
    queries: int,
    length_range: tuple[int, int],
) -> _Batch:
    T = int(rng.integers(length_range[0], length_range[1] + 1))
    curves = sample_prior_curves(batch, T, rng)
    m = int(rng.integers(1, T))  # observed epochs 1..m, m < T
    idx = _subsample(m, max_context)
    u = np.arange(1, T + 1, dtype=np.float32) / T
    rest = np.arange(m, T)
    q = (
        rest
        if rest.size <= queries
        else np.concatenate([rng.choice(rest[:-1], queries - 1, replace=False), rest[-1:]])
    )
    return _Batch(
        np.broadcast_to(u[idx], (batch, idx.size)).copy(),
        curves[:, idx],
        np.broadcast_to(u[q], (batch, q.size)).copy(),
        curves[:, q],
    )


def _batch_loss(net: Any, b: _Batch) -> Any:
    """Cross-entropy of the bar holding each query's true value (the PFN training loss)."""
    torch = _torch()
    buckets = net.out.out_features
    logits = net(torch.from_numpy(b.cu), torch.from_numpy(b.cy), torch.from_numpy(b.qu))
    target = np.clip((b.qy * buckets).astype(np.int64), 0, buckets - 1)
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, buckets), torch.from_numpy(target).reshape(-1)
    )


# ------------------------------------------------------------------------------- facade
class LCPFN:
    """A trained LC-PFN: the posterior predictive of a curve's later values in one forward pass.

    Args:
        config: Network sizes.
        state: Trained weights (``state_dict``); random weights if omitted.
        info: Metadata stored with the weights (training steps, prior, wall time).
        init_seed: Seeds the random initialisation (drawn from a private generator: building a
            model never moves torch's global random stream).
    """

    def __init__(
        self,
        config: PFNConfig | None = None,
        state: dict | None = None,
        info: dict | None = None,
        *,
        init_seed: int = 0,
    ) -> None:
        from .._device import seeded_rng

        self.config = config or PFNConfig()
        self.info = dict(info or {})
        with seeded_rng(init_seed):
            self._net = _build_net(self.config)
        if state is not None:
            self._net.load_state_dict(state)
        self._net.eval()
        self._edges = np.linspace(0.0, 1.0, self.config.buckets + 1)
        self._pretrained_name: str | None = None  # set by pretrained(): pickled by reference
        self._warned_range = False

    def __repr__(self) -> str:
        c = self.config
        return f"LCPFN(d_model={c.d_model}, layers={c.layers}, buckets={c.buckets})"

    # ---------------------------------------------------------------- inference
    def _probs(self, cu: np.ndarray, cy: np.ndarray, qu: np.ndarray) -> np.ndarray:
        torch = _torch()
        with torch.no_grad():
            logits = self._net(
                torch.as_tensor(cu, dtype=torch.float32),
                torch.as_tensor(cy, dtype=torch.float32),
                torch.as_tensor(qu, dtype=torch.float32),
            )
            return torch.softmax(logits.double(), -1).numpy()

    def predict_normalized(
        self, steps: Any, values: Any, target_step: float, *, max_step: float | None = None
    ) -> np.ndarray:
        """Bucket probabilities ``float[buckets]`` of the normalised value at ``target_step``.

        ``values`` must already be in ``[0, 1]``; time is measured as a fraction of
        ``max_step`` (default: ``target_step``).
        """
        s, v = clean_curve(steps, values)
        if s.size == 0:
            raise ValueError("predict needs at least one finite (step, value) pair.")
        T = float(max_step if max_step is not None else target_step)
        idx = _subsample(s.size, self.config.max_context)
        cu = np.clip(s[idx] / T, 1e-3, 1.0)[None, :]
        cy = np.clip(v[idx], 0.0, 1.0)[None, :]
        return self._probs(cu, cy, np.array([[min(float(target_step) / T, 1.0)]]))[0, 0]

    def predict(
        self,
        steps: Any,
        values: Any,
        target_step: float,
        *,
        bounds: tuple[float, float] = (0.0, 1.0),
    ) -> CurvePrediction:
        """The predictive distribution of the value at ``target_step`` in the caller's units.

        Args:
            steps: Steps observed so far (epochs; any order, duplicates keep the last value).
            values: Values at those steps, higher is better; NaN / inf are ignored.
            target_step: The step to predict (the curve's last epoch).
            bounds: ``(low, high)`` of the values (e.g. ``(0, 100)`` for percent accuracy):
                they are mapped to ``[0, 1]``, the prior's range.

        Returns:
            A :class:`CurvePrediction` with mean, std and the bars (in the caller's units).
        """
        lo, hi = float(bounds[0]), float(bounds[1])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"bounds must be finite (low, high) with low < high, got {bounds=}.")
        s, v = clean_curve(steps, values)
        if s.size == 0:
            raise ValueError("predict needs at least one finite (step, value) pair.")
        if s[-1] >= target_step:  # already there: its own value
            return CurvePrediction(float(np.interp(target_step, s, v)), 0.0)
        z = (v - lo) / (hi - lo)
        if not self._warned_range and (z.min() < -0.01 or z.max() > 1.01):
            self._warned_range = True
            _log.warning(
                "LC-PFN: values outside bounds=%s (e.g. a metric in [0, 1] with bounds (0, 100)) "
                "are clipped to them; pass the metric's real range.",
                (lo, hi),
            )
        probs = self.predict_normalized(s, z, target_step)
        mids = 0.5 * (self._edges[1:] + self._edges[:-1])
        mean = float(probs @ mids)
        var = float(probs @ (mids - mean) ** 2 + probs @ (np.diff(self._edges) ** 2) / 12.0)
        return CurvePrediction(
            lo + (hi - lo) * mean,
            (hi - lo) * math.sqrt(max(var, 0.0)),
            bars=(lo + (hi - lo) * self._edges, probs),
        )

    # ---------------------------------------------------------------- persistence
    def _payload(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "kind": "lcpfn",
            "config": self.config.to_dict(),
            "info": self.info,
            "state": {k: v.detach().cpu().clone() for k, v in self._net.state_dict().items()},
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the weights (one ``torch.save`` file, written atomically) and return its path."""
        torch = _torch()
        buf = io.BytesIO()
        torch.save(self._payload(), buf)
        return atomic_write_bytes(path, buf.getvalue())  # unique temporary file, os.replace

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, sha256: str | None = None) -> LCPFN:
        """Load weights written by :meth:`save`.

        Raises:
            CorruptWeightsError: hash mismatch, truncated or altered file, another format.
        """
        torch = _torch()
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CorruptWeightsError(f"cannot read the LC-PFN weights ({exc})", path=path) from exc
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256.lower():
            raise CorruptWeightsError(
                f"SHA-256 {hashlib.sha256(data).hexdigest()} differs from the recorded {sha256}; "
                "the LC-PFN weights file is corrupt or was replaced.",
                path=path,
            )
        try:
            payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise CorruptWeightsError(f"not an LC-PFN weights file ({exc})", path=path) from exc
        if not isinstance(payload, dict) or payload.get("kind") != "lcpfn":
            raise CorruptWeightsError("not an LC-PFN weights file (no 'kind': 'lcpfn').", path=path)
        if payload.get("format") != _FORMAT:
            raise CorruptWeightsError(
                f"format {payload.get('format')!r}, this version reads {_FORMAT}.", path=path
            )
        try:
            cfg = PFNConfig(**payload["config"])
            return cls(cfg, payload["state"], payload.get("info"))
        except Exception as exc:
            raise CorruptWeightsError(f"weights do not fit the network ({exc})", path=path) from exc

    @classmethod
    def pretrained(cls, name: str = "lcpfn") -> LCPFN:
        """The shipped weights, checked against the SHA-256 in ``weights/MANIFEST.json``.

        Raises:
            CorruptWeightsError: missing manifest entry, missing file or hash mismatch.
        """
        key = (name,)
        if key not in _PRETRAINED:
            manifest_path = PFN_WEIGHTS_DIR / "MANIFEST.json"
            try:
                manifest = json.loads(manifest_path.read_text())
                entry = manifest[name]
                sha = entry["sha256"]
            except Exception as exc:
                raise CorruptWeightsError(
                    f"no LC-PFN weights named {name!r} in {manifest_path} ({exc}); "
                    "reinstall nas-meta-tune or train them with `nas-meta-tune train-lcpfn`.",
                    path=manifest_path,
                ) from exc
            model = cls.load(PFN_WEIGHTS_DIR / entry["file"], sha256=sha)
            model._pretrained_name = name
            _PRETRAINED[key] = model
        return _PRETRAINED[key]

    def __getstate__(self) -> dict[str, Any]:
        if self._pretrained_name is not None:  # shipped weights: a reference, re-checked on load
            return {"pretrained": self._pretrained_name}
        return self._payload()

    def __setstate__(self, payload: dict[str, Any]) -> None:
        if "pretrained" in payload:
            self.__dict__.update(LCPFN.pretrained(payload["pretrained"]).__dict__)
            return
        type(self).__init__(
            self, PFNConfig(**payload["config"]), payload["state"], payload.get("info")
        )


_PRETRAINED: dict[tuple[str], LCPFN] = {}


# ------------------------------------------------------------------------------- training
def _warmup_cosine(opt: Any, steps: int) -> Any:
    """Linear warm-up over the first 2% of ``steps``, then cosine decay to 0 at ``steps``."""
    torch = _torch()
    warm = max(1, steps // 50)
    return torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)),
    )


def _optimiser_step(net: Any, loss: Any, opt: Any, sched: Any) -> None:
    """Back-propagate ``loss``, clip the gradient norm to 1, step the optimiser and schedule."""
    torch = _torch()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
    sched.step()


def train_lcpfn(
    *,
    config: PFNConfig | None = None,
    steps: int = 20000,
    batch: int = 64,
    queries: int = 8,
    length_range: tuple[int, int] = (10, 200),
    lr: float = 1e-3,
    seed: int = 0,
    time_budget_s: float | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> LCPFN:
    """Train an :class:`LCPFN` on curves from :func:`sample_prior_curves` (no data needed).

    Each step draws ``batch`` prior curves of one random length in ``length_range``, cuts them
    after a random number of epochs (the context, subsampled to ``max_context`` points) and
    asks for ``queries`` later values, the last epoch always among them; the loss is the
    cross-entropy of the bucket holding the true value. Adam with warm-up and cosine decay.

    Args:
        config: The network's sizes (default: :class:`PFNConfig`'s).
        steps: Optimiser steps (the learning-rate schedule spans them).
        batch: Prior curves per step.
        queries: Later values asked for per step (the last epoch always among them).
        length_range: ``(shortest, longest)`` curve length in epochs, both included.
        lr: Peak learning rate (after the warm-up).
        seed: Seeds the prior curves and the initialisation.
        callback: Called as ``callback(step, mean_loss)`` every 200 steps.
        time_budget_s: Stop early after this many seconds.
    """
    torch = _torch()
    from .._device import seeded_rng

    cfg = config or PFNConfig()
    rng = as_generator(seed)
    start = time.perf_counter()
    with seeded_rng(seed):
        model = LCPFN(cfg, init_seed=seed)
        net = model._net
        net.train()
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
        sched = _warmup_cosine(opt, steps)
        running: list[float] = []
        done = 0
        for step in range(steps):
            loss = _batch_loss(
                net, _prior_batch(rng, batch, cfg.max_context, queries, length_range)
            )
            _optimiser_step(net, loss, opt, sched)
            running.append(float(loss.detach()))
            done = step + 1
            if done % 200 == 0:
                if callback is not None:
                    callback(done, float(np.mean(running)))
                running = []
            if time_budget_s is not None and time.perf_counter() - start > time_budget_s:
                _log.warning(
                    "train_lcpfn stopped by its time budget after %d of %d steps", done, steps
                )
                break
        net.eval()
    model.info = {
        "steps": done,
        "batch": batch,
        "queries": queries,
        "length_range": list(length_range),
        "lr": lr,
        "seed": seed,
        "prior_families": list(PRIOR_FAMILIES),
        "wall_time_s": round(time.perf_counter() - start, 1),
    }
    return model


def install_pfn_weights(model: LCPFN, name: str = "lcpfn", *, command: str) -> Path:
    """Save ``model`` as the shipped weights ``name`` and record its SHA-256 in the manifest.

    Both files are written to temporary names and moved into place, weights first: an
    interrupted install leaves the previous pair intact or (between the two moves) a hash
    mismatch that :meth:`LCPFN.pretrained` reports, never a half-written file.
    """
    path = PFN_WEIGHTS_DIR / f"{name}.pt"
    tmp = model.save(path.with_suffix(".pt.tmp"))
    os.replace(tmp, path)
    manifest_path = PFN_WEIGHTS_DIR / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[name] = {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "bytes": path.stat().st_size,
        "command": command,
        "config": model.config.to_dict(),
        "training": model.info,
        "created": time.strftime("%Y-%m-%d"),
    }
    tmp_manifest = manifest_path.with_suffix(".json.tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp_manifest, manifest_path)
    _PRETRAINED.pop((name,), None)
    return path


def prior_cross_entropy(model: LCPFN, n_batches: int = 20, seed: int = 12345) -> float:
    """Mean cross-entropy (nats) on fresh prior batches the training never drew (64 curves of
    16 queries each per batch; a diagnostic, in nats over ``buckets`` bars)."""
    torch = _torch()
    rng = as_generator(seed)
    out = []
    cfg = model.config
    with torch.no_grad():
        for _ in range(n_batches):
            b = _prior_batch(rng, 64, cfg.max_context, 16, (10, 200))
            out.append(float(_batch_loss(model._net, b)))
    return float(np.mean(out))
