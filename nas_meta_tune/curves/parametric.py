"""Learning-curve extrapolation with an ensemble of parametric curve families.

Domhan, Springenberg & Hutter, "Speeding up Automatic Hyperparameter Optimization of Deep Neural
Networks by Extrapolation of Learning Curves", IJCAI 2015
(https://ml.informatik.uni-freiburg.de/wp-content/uploads/papers/15-IJCAI-Extrapolation_of_Learning_Curves.pdf),
model a learning curve ``y(x)`` as a weighted combination of 11 increasing, saturating families
and sample their parameters with MCMC. This module keeps the families and the Bayesian model
average but replaces MCMC by a deterministic, vectorised computation:

1. Every family is written as ``A + B * phi(x; theta)`` (or ``B * phi``, or ``A + phi``) with
   one or two *nonlinear* parameters ``theta`` and *linear* parameters ``A, B``. ``theta`` runs
   over a fixed log-spaced grid; for each grid point the linear parameters are the bounded least
   squares solution in closed form (``B`` constrained to the sign that makes the curve
   increasing, as in the paper), all grid points at once (variable projection).
2. Each grid point gets the profile likelihood of a Gaussian noise model,
   ``(SSE / n) ** (-n_eff / 2)``, where ``n_eff`` discounts the autocorrelation of the residuals
   (AR(1) effective sample size). Grid points whose curve decreases, leaves ``bounds`` or gains
   more than ``max_gain`` times the observed range after the last step get probability 0 (the
   paper's prior that curves increase and stay in range).
3. Families are weighted by their marginal likelihood over the grid (an Occam factor) with a BIC
   penalty for the linear parameters; the predictive distribution at ``target_step`` is the
   mixture over all families and grid points of ``Normal(f(target), sigma^2)``.

One prediction on a 50-point curve takes a few milliseconds on one CPU thread.

The 11 families of the paper, with ``x = step / first_step`` (so ``x`` starts at 1, like epochs):

==================  ==================================================  =====================
name                formula                                              computed as
==================  ==================================================  =====================
``vapor_pressure``  ``exp(a + b / x + c log x)``                          ``B phi(b, c)``
``pow3``            ``c - a x^-alpha``                                    ``A + B phi(alpha)``
``log_log_linear``  ``log(a log x + b)``                                  ``A + phi(a / b)``
``hill3``           ``y_max x^eta / (kappa^eta + x^eta)``                 ``B phi(kappa, eta)``
``log_power``       ``a / (1 + (x / e^b)^c)``                             same curves as hill3
``pow4``            ``c - (a x + b)^-alpha``                              ``A + B phi(b/a, alpha)``
``mmf``             ``alpha - (alpha - beta) / (1 + (kappa x)^delta)``    ``A + B phi(kappa, delta)``
``exp4``            ``c - exp(-a x^alpha + b)``                           same curves as janoschek
``janoschek``       ``alpha - (alpha - beta) exp(-kappa x^delta)``        ``A + B phi(kappa, delta)``
``weibull``         ``alpha - (alpha - beta) exp(-(kappa x)^delta)``      same curves as janoschek
``ilog2``           ``c - a / log(x + 1)``                                ``A + B phi``
==================  ==================================================  =====================

As the table shows, some of the paper's families describe the same set of curves; each is
still its own ensemble member (as in the paper), but the shared fit is computed once. ``ilog2``
uses ``log(x + 1)`` so that it is defined at the first step. Values are normalised before
fitting: to ``[0, 1]`` by ``bounds`` when given (the paper's accuracy scale), else divided by the
observed range, with the origin kept at 0 for non-negative metrics (accuracies) and put one range
below the smallest value otherwise (negated losses). The origin matters only for the families
without a free offset. Pass ``bounds`` (e.g. ``(0, 100)``) when the metric has a known range.

Example:
    >>> import numpy as np
    >>> steps = np.arange(1, 21)
    >>> values = 0.9 - 0.5 * steps**-0.7  # a synthetic pow3 curve
    >>> pred = ParametricEnsemble(seed=0).predict(steps, values, target_step=100)
    >>> round(pred.mean, 2), round(0.9 - 0.5 * 100**-0.7, 2)  # prediction, truth
    (0.89, 0.88)
    >>> pred.prob_at_least(0.86) > 0.9
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import clean_curve
from .decisions import CurvePrediction

__all__ = ["ParametricEnsemble", "PARAMETRIC_FAMILIES"]

#: The curve families of Domhan et al. (2015), all used by default.
PARAMETRIC_FAMILIES: tuple[str, ...] = (
    "vapor_pressure",
    "pow3",
    "log_log_linear",
    "hill3",
    "log_power",
    "pow4",
    "mmf",
    "exp4",
    "janoschek",
    "weibull",
    "ilog2",
)

_FLOAT_MAX = float(np.finfo(np.float64).max)


@dataclass(frozen=True)
class _Shape:
    """A set of curves ``A + B * phi(x; theta)`` evaluated on a grid of ``theta``.

    ``mode``: ``"affine"`` (A and B free), ``"scale"`` (A = 0) or ``"offset"`` (B = 1).
    ``sign``: the sign ``B`` must have for the curve to increase (+1 or -1).
    ``k``: number of parameters of the family (for the BIC penalty and ``n > k``).
    ``monotone``: whether every admissible ``B`` already makes the curve increasing.
    """

    mode: str
    sign: int
    k: int
    grid: Callable[[float], tuple[np.ndarray, np.ndarray]]
    basis: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    monotone: bool = True


def _geom(lo: float, hi: float, num: int) -> np.ndarray:
    return np.geomspace(lo, hi, num)


def _mesh(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    aa, bb = np.meshgrid(a, b, indexing="ij")
    return aa.reshape(-1), bb.reshape(-1)


def _pow3_grid(xt: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = _geom(0.01, 4.0, 40)
    return alpha, np.zeros_like(alpha)


def _pow3_basis(x: np.ndarray, alpha: np.ndarray, _: np.ndarray) -> np.ndarray:
    return np.exp(-alpha[:, None] * np.log(x)[None, :])


def _pow4_grid(xt: float) -> tuple[np.ndarray, np.ndarray]:
    shift = np.concatenate([[0.0], _geom(0.05, 4.0 * xt, 13)])
    return _mesh(shift, _geom(0.02, 4.0, 18))


def _pow4_basis(x: np.ndarray, shift: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.exp(-alpha[:, None] * np.log(x[None, :] + shift[:, None]))


def _loglog_grid(xt: float) -> tuple[np.ndarray, np.ndarray]:
    r = np.concatenate([[0.0], _geom(1e-3, 1e3, 40)])
    return r, np.zeros_like(r)


def _loglog_basis(x: np.ndarray, r: np.ndarray, _: np.ndarray) -> np.ndarray:
    # log(a log x + b) = log b + log(1 + (a / b) log x); x >= 1 keeps the argument >= 1
    return np.log1p(r[:, None] * np.log(np.maximum(x, 1.0))[None, :])


def _half_grid(xt: float) -> np.ndarray:
    return _geom(0.1, 4.0 * xt, 20)


def _hill_grid(xt: float) -> tuple[np.ndarray, np.ndarray]:
    return _mesh(_half_grid(xt), _geom(0.15, 6.0, 16))


def _hill_basis(x: np.ndarray, kappa: np.ndarray, eta: np.ndarray) -> np.ndarray:
    # y_max / (1 + (kappa / x)^eta), increasing in x from 0 to y_max
    z = eta[:, None] * (np.log(kappa)[:, None] - np.log(x)[None, :])
    return 1.0 / (1.0 + np.exp(np.minimum(z, 700.0)))


def _mmf_basis(x: np.ndarray, xh: np.ndarray, delta: np.ndarray) -> np.ndarray:
    # 1 / (1 + (x / xh)^delta), decreasing; the family is A + B * phi with B <= 0
    z = delta[:, None] * (np.log(x)[None, :] - np.log(xh)[:, None])
    return 1.0 / (1.0 + np.exp(np.minimum(z, 700.0)))


def _exp_grid(xt: float) -> tuple[np.ndarray, np.ndarray]:
    return _mesh(_half_grid(xt), _geom(0.1, 4.0, 16))


def _exp_basis(x: np.ndarray, xh: np.ndarray, delta: np.ndarray) -> np.ndarray:
    # exp(-kappa x^delta) with kappa = ln 2 / xh^delta: xh is the half-way point
    z = delta[:, None] * (np.log(x)[None, :] - np.log(xh)[:, None])
    return np.exp(-math.log(2.0) * np.exp(np.minimum(z, 700.0)))


def _ilog2_grid(xt: float) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(1), np.zeros(1)


def _ilog2_basis(x: np.ndarray, _a: np.ndarray, _b: np.ndarray) -> np.ndarray:
    return np.broadcast_to(1.0 / np.log1p(x)[None, :], (_a.size, x.size))


def _vapor_grid(xt: float) -> tuple[np.ndarray, np.ndarray]:
    b = -np.concatenate([[0.0], _geom(0.02, 2.0 * xt, 17)])
    c = np.linspace(-1.0, 1.0, 19)
    return _mesh(b, c)


def _vapor_basis(x: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    # exp(a + b / x + c log x) = e^a * phi; the exponent is shifted by its value at x = 1 so that
    # phi(1) = 1 (the shift is absorbed by e^a)
    z = b[:, None] * (1.0 / x[None, :] - 1.0) + c[:, None] * np.log(x)[None, :]
    return np.exp(np.clip(z, -700.0, 700.0))


_SHAPES: dict[str, _Shape] = {
    "vapor_pressure": _Shape("scale", +1, 3, _vapor_grid, _vapor_basis, monotone=False),
    "pow3": _Shape("affine", -1, 3, _pow3_grid, _pow3_basis),
    "log_log_linear": _Shape("offset", +1, 2, _loglog_grid, _loglog_basis),
    "hill": _Shape("scale", +1, 3, _hill_grid, _hill_basis),
    "pow4": _Shape("affine", -1, 4, _pow4_grid, _pow4_basis),
    "mmf": _Shape("affine", -1, 4, _hill_grid, _mmf_basis),
    "exp_saturation": _Shape("affine", -1, 4, _exp_grid, _exp_basis),
    "ilog2": _Shape("affine", -1, 2, _ilog2_grid, _ilog2_basis),
}

#: family name -> shape key (families describing the same curves share one fit)
_FAMILY_SHAPE: dict[str, str] = {
    "vapor_pressure": "vapor_pressure",
    "pow3": "pow3",
    "log_log_linear": "log_log_linear",
    "hill3": "hill",
    "log_power": "hill",
    "pow4": "pow4",
    "mmf": "mmf",
    "exp4": "exp_saturation",
    "janoschek": "exp_saturation",
    "weibull": "exp_saturation",
    "ilog2": "ilog2",
}


@dataclass
class _Fit:
    """Grid fits of one shape: per grid row the prediction, noise std and log-likelihood."""

    pred: np.ndarray
    sigma: np.ndarray
    loglik: np.ndarray
    leverage: np.ndarray
    n_linear: int


def _fit_shape(
    shape: _Shape,
    x: np.ndarray,
    y: np.ndarray,
    xt: float,
    x_check: np.ndarray,
    *,
    lo: float,
    hi: float,
    max_gain: float | None,
    sigma_floor: float,
) -> tuple[_Fit, np.ndarray] | None:
    """Fit one shape on every grid point; returns the fit and the best row's residuals."""
    n = y.size
    th1, th2 = shape.grid(xt)
    xl = x[-1]
    cols = np.concatenate([x, [xl, xt], x_check if not shape.monotone else []])
    with np.errstate(all="ignore"):
        phi_all = shape.basis(cols, th1, th2)
        phi, p_last, p_t = phi_all[:, :n], phi_all[:, n], phi_all[:, n + 1]
        if shape.mode == "affine":
            pm = phi.mean(axis=1)
            pc = phi - pm[:, None]
            ym = y.mean()
            yc = y - ym
            sxx = np.einsum("ij,ij->i", pc, pc)
            sxy = pc @ yc
            b = np.where(sxx > 1e-300, sxy / np.where(sxx > 1e-300, sxx, 1.0), 0.0)
            b = np.where(b * shape.sign < 0, 0.0, b)
            a = ym - b * pm
            sse = float(yc @ yc) - 2.0 * b * sxy + b * b * sxx
            # variance of A + B phi(target) per unit noise variance (OLS, B free)
            lev = 1.0 / n + np.where(
                sxx > 1e-300, (p_t - pm) ** 2 / np.where(sxx > 1e-300, sxx, 1.0), 0.0
            )
        elif shape.mode == "scale":
            sxx = np.einsum("ij,ij->i", phi, phi)
            sxy = phi @ y
            b = np.where(sxx > 1e-300, sxy / np.where(sxx > 1e-300, sxx, 1.0), 0.0)
            b = np.where(b * shape.sign < 0, 0.0, b)
            a = np.zeros_like(b)
            sse = float(y @ y) - 2.0 * b * sxy + b * b * sxx
            lev = np.where(sxx > 1e-300, p_t**2 / np.where(sxx > 1e-300, sxx, 1.0), 0.0)
        else:  # offset
            a = (y[None, :] - phi).mean(axis=1)
            b = np.ones_like(a)
            r = y[None, :] - phi - a[:, None]
            sse = np.einsum("ij,ij->i", r, r)
            lev = np.full_like(a, 1.0 / n)
        sse = np.maximum(sse, 0.0)
        f_last = a + b * p_last
        pred = a + b * p_t
        valid = np.isfinite(pred) & np.isfinite(sse) & np.isfinite(f_last) & np.isfinite(lev)
        valid &= (pred >= lo) & (pred <= hi)
        if max_gain is not None:
            valid &= pred - f_last <= max_gain
        if not shape.monotone:
            f_chk = a[:, None] + b[:, None] * phi_all[:, n + 2 :]
            valid &= np.all(np.diff(f_chk, axis=1) >= -1e-9, axis=1)
    if not valid.any():
        return None
    dof = max(n - shape.k, 1)
    var = sse / dof + sigma_floor**2
    best = int(np.argmin(np.where(valid, sse, np.inf)))
    resid = y - (a[best] + b[best] * phi[best])
    loglik = np.where(valid, -0.5 * np.log(var), -np.inf)  # times n_eff later
    n_linear = 2 if shape.mode == "affine" else 1
    fit = _Fit(pred=pred, sigma=np.sqrt(var), loglik=loglik, leverage=lev, n_linear=n_linear)
    return fit, resid


def _effective_n(resid: np.ndarray) -> float:
    """AR(1) effective sample size ``n (1 - rho) / (1 + rho)`` of the residuals."""
    n = resid.size
    r = resid - resid.mean()
    denom = float(r @ r)
    if n < 4 or denom <= 0 or not math.isfinite(denom):
        return float(n)
    rho = float(r[1:] @ r[:-1]) / denom
    rho = min(max(rho, 0.0), 0.95)
    return max(2.0, n * (1.0 - rho) / (1.0 + rho))


def _observed(steps: np.ndarray, values: np.ndarray, target: float) -> CurvePrediction:
    """The curve's own value at a step it has already reached (linear between reported steps;
    before the first one, the first value), with no spread.

    Interpolated as a convex combination of the two neighbours, which stays finite for any finite
    values (``np.interp``'s slope overflows between values near the float limit)."""
    i = int(np.searchsorted(steps, target, side="right"))
    if i == 0:
        return CurvePrediction(mean=float(values[0]), std=0.0)
    if i == len(steps) or steps[i] == steps[i - 1]:
        return CurvePrediction(mean=float(values[i - 1]), std=0.0)
    w = (target - steps[i - 1]) / (steps[i] - steps[i - 1])
    lo, hi = sorted((float(values[i - 1]), float(values[i])))
    mean = (1.0 - w) * values[i - 1] + w * values[i]
    return CurvePrediction(mean=float(min(max(mean, lo), hi)), std=0.0)


def _trivial(values: np.ndarray, bounds: tuple[float, float] | None) -> CurvePrediction:
    """Fallback: the last value (0 without values) with a large standard deviation."""
    mean = float(values[-1]) if values.size else 0.0
    if bounds is not None:
        std = float(bounds[1] - bounds[0]) / 2.0
        mean = min(max(mean, bounds[0]), bounds[1])
    else:
        big = float(np.max(np.abs(values))) if values.size else 0.0
        std = max(1.0, big)
    return CurvePrediction(mean=mean, std=min(std, _FLOAT_MAX / 4))


class ParametricEnsemble:
    """Bayesian model average of Domhan et al.'s parametric learning-curve families.

    See the module docstring for the method. Values are "higher is better" (negate losses).

    Args:
        families: Names from :data:`PARAMETRIC_FAMILIES` (default: all 11).
        n_samples: Draws from the predictive mixture returned in
            :attr:`CurvePrediction.samples` (``0``: none; probabilities then use a normal
            approximation).
        seed: Seed of those draws. Each :meth:`predict` call starts from this seed, so equal
            inputs give equal predictions; ``None`` draws fresh randomness every call.
        bounds: Optional ``(lower, upper)`` range of the metric (e.g. ``(0, 100)`` for accuracy
            in percent). Fits that leave it get no weight; predictions are clipped to it.
        max_gain: Largest admissible rise of a fitted curve between the last observed step and
            the target, in units of the observed range of values; ``None`` for no limit.
        noise_floor: Smallest noise standard deviation, in units of the observed range (keeps
            noise-free curves from collapsing the mixture onto one grid point).

    Example:
        >>> ens = ParametricEnsemble(families=["pow3", "janoschek"], n_samples=0)
        >>> pred = ens.predict([1, 2, 3, 4, 5], [50, 60, 65, 68, 70], target_step=50)
        >>> 70 < pred.mean < 90
        True
    """

    def __init__(
        self,
        *,
        families: Sequence[str] | None = None,
        n_samples: int = 200,
        seed: int | None = 0,
        bounds: tuple[float, float] | None = None,
        max_gain: float | None = 1.0,
        noise_floor: float = 0.01,
    ) -> None:
        fams = tuple(PARAMETRIC_FAMILIES if families is None else families)
        unknown = [f for f in fams if f not in _FAMILY_SHAPE]
        if not fams or unknown:
            raise ValueError(
                f"families must be a non-empty subset of {PARAMETRIC_FAMILIES}, but got {families=}."
            )
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 0:
            raise ValueError(f"n_samples must be a non-negative int, but got {n_samples=}.")
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int or None, but got {seed=}.")
        if bounds is not None:
            lo_b, hi_b = (float(b) for b in bounds)
            if not (math.isfinite(lo_b) and math.isfinite(hi_b) and lo_b < hi_b):
                raise ValueError(f"bounds must be finite with lower < upper, but got {bounds=}.")
            bounds = (lo_b, hi_b)
        if max_gain is not None and not (max_gain > 0 and math.isfinite(max_gain)):
            raise ValueError(f"max_gain must be a positive number or None, but got {max_gain=}.")
        if not (noise_floor >= 0 and math.isfinite(noise_floor)):
            raise ValueError(f"noise_floor must be >= 0, but got {noise_floor=}.")
        self.families = fams
        self.n_samples = int(n_samples)
        self.seed = seed
        self.bounds = bounds
        self.max_gain = max_gain
        self.noise_floor = float(noise_floor)

    def __repr__(self) -> str:
        return (
            f"ParametricEnsemble(families={list(self.families)}, n_samples={self.n_samples}, "
            f"seed={self.seed}, bounds={self.bounds})"
        )

    def predict(self, steps: Any, values: Any, target_step: float) -> CurvePrediction:
        """Predictive distribution of the value at ``target_step``.

        Args:
            steps: Steps of the partial curve (cleaned with :func:`clean_curve`).
            values: Values at those steps (higher is better).
            target_step: The step whose value is predicted, usually the last of the schedule.

        Returns:
            A :class:`CurvePrediction`. For a ``target_step`` the curve has already reached,
            its own (interpolated) value with std 0. With fewer than 3 clean points, a non-positive
            ``target_step`` or when no family fits, the mean is the last value (0 if none) and
            the standard deviation is large. Never NaN.

        Raises:
            ValueError: If ``target_step`` is NaN or infinite, or ``steps`` and ``values`` have
                different lengths.
        """
        target = float(target_step)
        if not math.isfinite(target):
            raise ValueError(f"target_step must be finite, but got {target_step=}.")
        s, v = clean_curve(steps, values)
        if v.size and 0 < target <= s[-1]:
            return _observed(s, v, target)  # no extrapolation backwards or inside the curve
        if v.size < 3 or target <= 0:
            return _trivial(v, self.bounds)
        try:
            out = self._predict(s, v, target)
        except (
            FloatingPointError,
            ValueError,
            ZeroDivisionError,
            OverflowError,
        ):  # pragma: no cover
            out = None
        return out if out is not None else _trivial(v, self.bounds)

    # ---------------------------------------------------------------- internals
    def _normalise(self, v: np.ndarray) -> tuple[np.ndarray, float, float, float, float] | None:
        """``y = (v - origin) / scale`` and the admissible prediction range in ``y`` units."""
        if self.bounds is not None:
            lo_b, hi_b = self.bounds
            origin, scale = lo_b, hi_b - lo_b
            y = (v - origin) / scale
            rng = float(np.ptp(y))
            lo, hi = 0.0, 1.0
        else:
            vmax, vmin = float(v.max()), float(v.min())
            scale = vmax / 2.0 - vmin / 2.0  # half the range: cannot overflow
            if not scale > 1e-12 * max(1.0, abs(vmax), abs(vmin)):
                return None
            scale *= 2.0
            if not math.isfinite(scale):
                return None
            # non-negative metrics (accuracies, scores) keep their natural zero, as in the paper;
            # otherwise the origin is one range below the smallest value
            origin = 0.0 if vmin >= 0.0 else vmin - scale
            y = (v - origin) / scale
            rng = 1.0
            lo, hi = -math.inf, math.inf
        if not (np.isfinite(y).all() and rng > 0):
            return None
        return y, origin, scale, lo, hi

    def _predict(self, s: np.ndarray, v: np.ndarray, target: float) -> CurvePrediction | None:
        norm = self._normalise(v)
        if norm is None:  # a flat curve (stuck at chance, a rounded metric): no information yet
            return _trivial(v, self.bounds)
        y, origin, scale, lo, hi = norm
        rng = float(np.ptp(y))
        with np.errstate(all="ignore"):
            x = s / s[0]
            xt = target / s[0]
        if not (np.isfinite(x).all() and math.isfinite(xt) and x[-1] < 1e12 and xt < 1e12):
            return None
        fitted = self._fit_families(x, y, xt, lo, hi, rng)
        if fitted is None:
            return None
        fits, best_resid = fitted
        n_eff = _effective_n(best_resid)

        if self.max_gain is not None:
            cap = 0.5 * self.max_gain * rng
        elif self.bounds is not None:
            cap = 0.5 * (hi - lo)
        else:
            cap = rng
        p, sg, lw = self._mixture(fits, y.size, n_eff, cap)
        w = np.exp(lw - lw.max())
        w /= w.sum()
        mean_y = float(w @ p)
        var_y = float(w @ (sg**2 + (p - mean_y) ** 2))
        mean = origin + scale * mean_y
        std = scale * math.sqrt(max(var_y, 0.0))
        return self._finish(mean, std, p, sg, w, origin, scale)

    def _fit_families(
        self, x: np.ndarray, y: np.ndarray, xt: float, lo: float, hi: float, rng: float
    ) -> tuple[dict[str, _Fit], np.ndarray] | None:
        """Each family's grid fit (one per shape), and the residuals of the best one."""
        x_check = np.geomspace(1.0, max(xt, x[-1]), 12)
        n = y.size
        gain = None if self.max_gain is None else self.max_gain * rng
        fits: dict[str, _Fit] = {}
        best_resid: np.ndarray | None = None
        best_sse = math.inf
        for fam in self.families:
            key = _FAMILY_SHAPE[fam]
            shape = _SHAPES[key]
            if key in fits or n <= shape.k:
                continue
            res = _fit_shape(
                shape, x, y, xt, x_check, lo=lo, hi=hi, max_gain=gain,
                sigma_floor=self.noise_floor * rng,
            )  # fmt: skip
            if res is None:
                continue
            fit, resid = res
            fits[key] = fit
            sse = float(resid @ resid)
            if sse < best_sse:
                best_sse, best_resid = sse, resid
        if not fits or best_resid is None:
            return None
        return fits, best_resid

    def _mixture(
        self, fits: dict[str, _Fit], n: int, n_eff: float, cap: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The mixture's components: predictions, spreads and log-weights over the grids."""
        # family log-evidence: log mean over the grid of the likelihood, BIC for linear params
        preds, sigmas, logw = [], [], []
        for fam in self.families:
            key = _FAMILY_SHAPE[fam]
            if key not in fits:
                continue
            fit = fits[key]
            ll = n_eff * fit.loglik
            m = float(np.max(ll))
            within = np.exp(ll - m)
            z = float(within.sum())
            evidence = m + math.log(z / ll.size) - 0.5 * fit.n_linear * math.log(n_eff)
            keep = within > 1e-12 * z
            preds.append(fit.pred[keep])
            # noise of the final observation plus the uncertainty of the linear parameters,
            # whose information is that of n_eff (not n) independent points; capped by the prior
            # range (the admissible gain), which bounds the linear parameters too
            inflate = 1.0 + fit.leverage[keep] * (n / n_eff)
            sd = np.minimum(fit.sigma[keep] * np.sqrt(inflate), cap)
            sigmas.append(np.maximum(sd, fit.sigma[keep]))
            logw.append(evidence + np.log(within[keep] / z))
        return np.concatenate(preds), np.concatenate(sigmas), np.concatenate(logw)

    def _finish(
        self,
        mean: float,
        std: float,
        p: np.ndarray,
        sg: np.ndarray,
        w: np.ndarray,
        origin: float,
        scale: float,
    ) -> CurvePrediction | None:
        """The prediction with its samples from the mixture, clipped to ``bounds``."""
        samples = None
        if self.n_samples:
            gen = np.random.default_rng(self.seed)
            idx = gen.choice(p.size, size=self.n_samples, p=w)
            draw_y = p[idx] + sg[idx] * gen.standard_normal(self.n_samples)
            samples = origin + scale * draw_y
        if self.bounds is not None:
            mean = min(max(mean, self.bounds[0]), self.bounds[1])
            if samples is not None:
                samples = np.clip(samples, self.bounds[0], self.bounds[1])
        if not (math.isfinite(mean) and math.isfinite(std)):
            return None
        if samples is not None and not np.isfinite(samples).all():
            samples = None
        return CurvePrediction(mean=mean, std=std, samples=samples)
