"""``MetaPredictor``: the meta-learned, few-shot-adapted performance predictor users work with.

A :class:`MetaPredictor` wraps a meta-trained :class:`~nas_meta_tune.predictors.gcn.GCNPredictor`
and the :class:`~nas_meta_tune.predictors.meta.MetaConfig` it was trained with:

* :meth:`MetaPredictor.pretrained` loads weights shipped inside the package (made by
  ``nas-meta-tune meta-train`` from the TOML config next to them); the file's SHA-256 is checked
  against ``weights/MANIFEST.json`` before anything is loaded.
* :meth:`MetaPredictor.adapt` returns a **new** predictor adapted to a task from a few
  ``(architecture, score)`` pairs with the inner-loop rule of its algorithm (BOIL: body only);
  the meta-initialisation is never modified.
* :meth:`MetaPredictor.predict` scores architectures of any registered space (through the unified
  graph), higher = predicted better, on the scale of rank-normalised scores (standard-normal
  quantiles: only the order and the relative spread are meaningful). With ``return_std=True`` it
  also returns an MC-dropout standard deviation for exploration.
* :meth:`MetaPredictor.save` / :meth:`MetaPredictor.load` round-trip a predictor, adapted or not.
  Each file embeds a SHA-256 of its tensors, so truncated or altered files raise
  :class:`~nas_meta_tune.exceptions.CorruptWeightsError` instead of loading garbage.

Example:
    >>> from nas_meta_tune.predictors import MetaPredictor
    >>> from nas_meta_tune.spaces import get_space
    >>> space = get_space("nb201")
    >>> predictor = MetaPredictor.pretrained()
    >>> archs = space.sample(20, seed=0)
    >>> adapted = predictor.adapt(archs[:10], [70.1, 65.3, 80.2, 75.0, 60.0, 81.5, 79.9, 66.6, 72.2, 77.7])
    >>> adapted.predict(archs[10:]).shape
    (10,)
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import torch

from .._state import atomic_write_bytes
from ..exceptions import CorruptWeightsError, UnknownNameError
from ..spaces._base import Architecture
from ..spaces.ops import NODE_FEATURES
from .gcn import LEGACY_IN_DIM, GCNConfig, GCNPredictor
from .meta import MetaConfig, MetaTrainResult, adapt_parameters, select_adapt_steps

__all__ = ["MetaPredictor", "WEIGHTS_DIR", "available_pretrained", "file_sha256"]

#: directory of the shipped weights, their TOML configs and ``MANIFEST.json``
WEIGHTS_DIR = Path(__file__).with_name("weights")
_FORMAT = "nas-meta-tune/predictor"
_FORMAT_VERSION = 1


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _manifest() -> dict[str, dict[str, Any]]:
    path = WEIGHTS_DIR / "MANIFEST.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def available_pretrained() -> list[str]:
    """Names accepted by :meth:`MetaPredictor.pretrained`."""
    return sorted(_manifest())


def _tensor_digest(state: dict[str, torch.Tensor], header: dict[str, Any]) -> str:
    h = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for name in sorted(state):
        t = state[name].detach().to("cpu").contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def _widen_legacy(
    in_dim: Any, state: dict[str, torch.Tensor], init: dict[str, torch.Tensor], path: object
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Weights of the fixed 20-token vocabulary, widened to the open one (same predictions on
    known operations); any other width than these two is an error naming both."""
    if in_dim == NODE_FEATURES:
        return state, init
    if in_dim != LEGACY_IN_DIM:
        raise CorruptWeightsError(
            f"the weights read {in_dim} node features; this nas-meta-tune reads {NODE_FEATURES} "
            f"(or {LEGACY_IN_DIM} from files before the open operation vocabulary).",
            path=path,
        )
    message = (
        f"{path or 'these weights'}: written before the open operation vocabulary; they load "
        "and predict as before, but operation descriptors and the 'unknown' token have no "
        "effect until re-trained (nas-meta-tune meta-train)."
    )
    warnings.warn(message, UserWarning, stacklevel=4)
    return GCNPredictor.legacy_state(state), GCNPredictor.legacy_state(init)


def _check_archs_scores(
    archs: Sequence[Architecture], scores: Any
) -> tuple[list[Architecture], np.ndarray]:
    archs = list(archs)
    y = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(archs) != len(y):
        raise ValueError(f"adapt() got {len(archs)} architectures but {len(y)} scores.")
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(
            f"adapt() needs finite scores, but got {y[bad][:5].tolist()} at positions "
            f"{np.flatnonzero(bad)[:5].tolist()}; drop failed evaluations first."
        )
    for a in archs:
        if not isinstance(a, Architecture):
            raise TypeError(
                f"expected Architecture objects (use space.to_arch(...)), but got {type(a).__name__}."
            )
    return archs, y


class MetaPredictor:
    """A meta-trained GCN performance predictor that adapts to new tasks from a few samples.

    Args:
        model: The GCN; its current weights are this predictor's weights.
        config: The meta-learning configuration (its algorithm sets the adaptation rule, its
            ``test_steps`` and ``inner_lr`` the default adaptation steps and learning rate).
        info: Free-form provenance (training tasks, command, seconds, ...), saved with the weights.

    Most users start from :meth:`pretrained` or :meth:`load`, or :meth:`from_result` after
    :func:`~nas_meta_tune.predictors.meta.meta_train`.
    """

    def __init__(
        self,
        model: GCNPredictor,
        config: MetaConfig | None = None,
        *,
        info: dict[str, Any] | None = None,
    ) -> None:
        self._model = model.eval()
        self.config = config or MetaConfig()
        self.info: dict[str, Any] = dict(info or {})
        # the meta-initialisation this predictor adapts from (a predictor that is not adapted is its own init)
        self._init_state: dict[str, torch.Tensor] = {
            k: v.detach().clone() for k, v in model.state_dict().items()
        }
        self._n_adapted = 0
        #: how the last :meth:`adapt` that made this predictor chose its step count
        #: (``{"steps", "selected", "cv_spearman"}``); empty for a meta-initialisation and
        #: after :meth:`load`, pickling or copying (it is not saved)
        self.adapt_info: dict[str, Any] = {}

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_result(
        cls, result: MetaTrainResult, *, info: dict[str, Any] | None = None
    ) -> MetaPredictor:
        """Wrap the model of a :func:`~nas_meta_tune.predictors.meta.meta_train` run."""
        meta = {"tasks": list(result.tasks), "seconds": round(result.seconds, 1), **(info or {})}
        return cls(copy.deepcopy(result.model), result.config, info=meta)

    @classmethod
    def pretrained(cls, name: str = "default") -> MetaPredictor:
        """The shipped predictor ``name`` (see :func:`available_pretrained`).

        Raises:
            UnknownNameError: no shipped weights of that name.
            CorruptWeightsError: the file's SHA-256 differs from ``MANIFEST.json`` or it does not load.
        """
        manifest = _manifest()
        if name not in manifest:
            raise UnknownNameError("pretrained predictor", name, sorted(manifest))
        entry = manifest[name]
        path = WEIGHTS_DIR / entry["file"]
        if not path.exists():
            raise CorruptWeightsError(
                "the shipped weights file is missing; reinstall nas-meta-tune.", path=path
            )
        sha = entry.get("sha256")
        if not (isinstance(sha, str) and len(sha) == 64):
            raise CorruptWeightsError(
                f"MANIFEST.json has no valid SHA-256 for {name!r}; reinstall nas-meta-tune.",
                path=path,
            )
        return cls.load(path, sha256=sha)

    @classmethod
    def pretrained_without(cls, task: str) -> MetaPredictor:
        """Shipped weights that were meta-trained **without** ``task`` (``"family/task"``), so a
        search on that task measures transfer, not memory.

        Raises:
            UnknownNameError: no shipped weights left the task out (the message lists which tasks
                each set of shipped weights left out).
        """
        manifest = _manifest()
        for name in sorted(manifest, key=lambda n: len(manifest[n].get("tasks", []))):
            if task not in manifest[name].get("tasks", []):
                return cls.pretrained(name)
        every = {t for m in manifest.values() for t in m.get("tasks", [])}
        raise UnknownNameError(
            "task left out by shipped weights (meta-train your own with `nas-meta-tune "
            "meta-train` and a config whose pool excludes it)",
            task,
            [
                f"{t} ({n})"
                for n, e in sorted(manifest.items())
                for t in sorted(every - set(e.get("tasks", [])))
            ],
        )

    # ----------------------------------------------------------------- properties
    @property
    def model(self) -> GCNPredictor:
        """The underlying GCN (in eval mode). Modifying it modifies this predictor."""
        return self._model

    @property
    def algorithm(self) -> str:
        """The meta-learning algorithm of the weights' configuration."""
        return self.config.algorithm

    @property
    def n_adapted(self) -> int:
        """Number of samples of the last :meth:`adapt` (0: the meta-initialisation itself)."""
        return self._n_adapted

    def __repr__(self) -> str:
        state = f"adapted on {self._n_adapted}" if self._n_adapted else "meta-init"
        return f"MetaPredictor(algorithm={self.algorithm!r}, {state}, {self._model!r})"

    # ----------------------------------------------------------------- adaptation and prediction
    def adapt(
        self,
        archs: Sequence[Architecture],
        scores: Sequence[float] | np.ndarray,
        *,
        steps: int | str | None = None,
        lr: float | None = None,
        warm_start: bool = False,
    ) -> MetaPredictor:
        """A new predictor adapted to ``(archs, scores)`` (raw scores, higher is better).

        The inner-loop rule of :attr:`algorithm` is used (BOIL: body updated, head frozen); the
        scores are rank-normalised first, so their units do not matter. ``self`` is unchanged.

        Args:
            archs: Evaluated architectures (any registered space).
            scores: Their scores, higher = better, all finite.
            steps: SGD steps (default: the config's ``test_steps``), or ``"auto"``: choose among
                0, T/4, T/2, T and 2T steps (T = ``test_steps``) by 5-fold cross-validation on
                these samples (:func:`~nas_meta_tune.predictors.meta.select_adapt_steps`; each
                fold runs 2T steps, so it costs about 8-10x a T-step adaptation), so that few or
                unrepresentative samples can leave a good meta-initialisation un-adapted. Below
                4 samples (or all scores tied) it falls back to T. The choice and its
                out-of-fold Spearman are in the result's :attr:`adapt_info`. Not with
                ``warm_start``: an adapted start has already seen the held-out folds.
            lr: Step size (default: the config's ``inner_lr``).
            warm_start: Start from this predictor's current weights instead of its
                meta-initialisation (only differs for an already adapted predictor).
        """
        archs, y = _check_archs_scores(archs, scores)
        auto = isinstance(steps, str)
        if auto and steps != "auto":
            raise ValueError(f"adapt() takes an int or 'auto' for steps, but got {steps=}.")
        if auto and warm_start:
            raise ValueError(
                "adapt(steps='auto') cross-validates from the meta-initialisation and cannot be "
                "combined with warm_start=True (the warm weights have seen every fold)."
            )
        base_steps = self.config.test_steps
        steps = base_steps if steps is None or auto else int(steps)
        lr = self.config.inner_lr if lr is None else float(lr)
        if steps < 0 or not lr > 0:
            raise ValueError(f"adapt() needs steps >= 0 and lr > 0, but got {steps=}, {lr=}.")
        # a private module: functional_call swaps tensors into the module it runs, so adapting
        # self._model itself would let a concurrent predict()/adapt() see (or keep) them
        start = copy.deepcopy(self._model) if warm_start else self._init_model(private=True)
        info: dict[str, Any] = {"steps": steps, "selected": False}
        if auto:
            grid = sorted({0, base_steps // 4, base_steps // 2, base_steps, 2 * base_steps})
            chosen, rho = select_adapt_steps(
                start,
                archs,
                y,
                algorithm=self.algorithm,
                candidates=grid,
                lr=lr,
                loss=self.config.loss,
            )
            if chosen is not None:
                steps = chosen
                info = {"steps": steps, "selected": True, "cv_spearman": rho}
        params = adapt_parameters(
            start, archs, y, algorithm=self.algorithm, steps=steps, lr=lr, loss=self.config.loss
        )
        start.load_state_dict({**start.state_dict(), **params}, strict=True)
        out = MetaPredictor(start.eval(), self.config, info=self.info)
        out._init_state = self._init_state  # shared, never written to
        out._n_adapted = len(archs)
        out.adapt_info = info
        return out

    def _init_model(self, *, private: bool = False) -> GCNPredictor:
        """The meta-initialisation's module (``self``'s own when not adapted, unless
        ``private``); built by copying, so torch's global random state is never drawn from."""
        if self._n_adapted == 0 and not private:
            return self._model
        model = copy.deepcopy(self._model)
        if self._n_adapted:
            model.load_state_dict(self._init_state)
        return model.eval()

    def meta_init(self) -> MetaPredictor:
        """The un-adapted meta-initialisation this predictor came from."""
        return MetaPredictor(
            self._init_model() if self._n_adapted else self._model, self.config, info=self.info
        )

    @staticmethod
    def input_batches(
        archs: Sequence[Architecture], *, batch_size: int = 2048
    ) -> list[tuple[torch.Tensor, ...]]:
        """The GCN's padded inputs of ``archs`` in batches, for :meth:`embed` to reuse when the
        same architectures are embedded again (e.g. a whole space under successive
        adaptations)."""
        archs = list(archs)
        return [
            GCNPredictor.inputs(archs[i : i + batch_size]) for i in range(0, len(archs), batch_size)
        ]

    @torch.no_grad()
    def embed(
        self,
        archs: Sequence[Architecture] | None = None,
        *,
        batch_size: int = 2048,
        batches: Sequence[tuple[torch.Tensor, ...]] | None = None,
    ) -> np.ndarray:
        """``float32[len(archs), mlp_hidden]`` graph embeddings that feed the head (or of the
        architectures of ``batches`` from :meth:`input_batches`)."""
        self._model.eval()
        dev = next(self._model.parameters()).device
        if batches is None:
            batches = self.input_batches(archs or [], batch_size=batch_size)
        parts = [self._model.embed_graphs(*(t.to(dev) for t in b)).cpu() for b in batches]
        if not parts:
            return np.zeros((0, self._model.config.mlp_hidden), dtype=np.float32)
        return torch.cat(parts).numpy()

    @overload
    def predict(
        self,
        archs: Sequence[Architecture],
        *,
        return_std: Literal[False] = ...,
        n_samples: int = ...,
        seed: int = ...,
        batch_size: int = ...,
    ) -> np.ndarray: ...

    @overload
    def predict(
        self,
        archs: Sequence[Architecture],
        *,
        return_std: Literal[True],
        n_samples: int = ...,
        seed: int = ...,
        batch_size: int = ...,
    ) -> tuple[np.ndarray, np.ndarray]: ...

    @overload
    def predict(
        self,
        archs: Sequence[Architecture],
        *,
        return_std: bool,
        n_samples: int = ...,
        seed: int = ...,
        batch_size: int = ...,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]: ...

    @torch.no_grad()
    def predict(
        self,
        archs: Sequence[Architecture],
        *,
        return_std: bool = False,
        n_samples: int = 32,
        seed: int = 0,
        batch_size: int = 2048,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted scores (higher = better) of ``archs``; with ``return_std`` also their std.

        The mean is the deterministic (dropout-off) prediction. The standard deviation comes from
        ``n_samples`` MC-dropout masks on the head's input (seeded by ``seed``), so it is cheap and
        reproducible; it is 0 when the model has no dropout.
        """
        feats = torch.from_numpy(self.embed(archs, batch_size=batch_size))
        head = self._model.head
        w = head.weight.detach().cpu()[0]
        b = float(head.bias.detach().cpu()[0])
        mean = (feats @ w + b).numpy().astype(np.float64)
        if not return_std:
            return mean
        if n_samples < 2:
            raise ValueError(f"return_std needs n_samples >= 2, but got {n_samples=}.")
        p = float(self._model.config.dropout)
        if p <= 0 or len(feats) == 0:
            return mean, np.zeros_like(mean)
        gen = torch.Generator().manual_seed(int(seed))
        keep = (torch.rand((n_samples, feats.shape[1]), generator=gen) >= p).float() / (1 - p)
        samples = feats @ (keep * w).T + b  # [n, n_samples]
        return mean, samples.std(dim=1).numpy().astype(np.float64)

    # ----------------------------------------------------------------- persistence
    def _payload(self) -> dict[str, Any]:
        header = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "gcn": self._model.config.to_dict(),
            "in_dim": NODE_FEATURES,
            "meta": self.config.to_dict(),
            "info": self.info,
            "n_adapted": self._n_adapted,
        }
        state = {k: v.detach().cpu().clone() for k, v in self._model.state_dict().items()}
        init = {k: v.detach().cpu().clone() for k, v in self._init_state.items()}
        digest = _tensor_digest({**state, **{"init." + k: v for k, v in init.items()}}, header)
        return {"header": json.dumps(header), "state": state, "init": init, "checksum": digest}

    @classmethod
    def _from_payload(cls, payload: Any, path: object = None) -> MetaPredictor:
        if not isinstance(payload, dict) or not {"header", "state", "init", "checksum"} <= set(
            payload
        ):
            raise CorruptWeightsError(
                "not a nas-meta-tune predictor file (missing header/state/checksum).", path=path
            )
        try:
            header = json.loads(payload["header"])
        except (TypeError, ValueError) as exc:
            raise CorruptWeightsError(f"unreadable header: {exc}", path=path) from exc
        if not isinstance(header, dict):
            raise CorruptWeightsError("unreadable header: not a JSON object.", path=path)
        if header.get("format") != _FORMAT:
            raise CorruptWeightsError(
                f"unknown format {header.get('format')!r}, expected {_FORMAT!r}.", path=path
            )
        if header.get("version") != _FORMAT_VERSION:
            raise CorruptWeightsError(
                f"format version {header.get('version')!r}, but this nas-meta-tune reads version {_FORMAT_VERSION}; "
                "re-create the file with this version (nas-meta-tune meta-train).",
                path=path,
            )
        state, init = payload["state"], payload["init"]
        for part, tensors in (("state", state), ("init", init)):
            if not isinstance(tensors, dict) or not all(
                isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in tensors.items()
            ):
                raise CorruptWeightsError(f"{part} is not a dict of named tensors.", path=path)
        digest = _tensor_digest({**state, **{"init." + k: v for k, v in init.items()}}, header)
        if digest != payload["checksum"]:
            raise CorruptWeightsError(
                "the weights do not match their embedded SHA-256 (altered or damaged file).",
                path=path,
            )
        try:
            gcn_raw = dict(header["gcn"])
            in_dim = gcn_raw.pop("in_dim", header.get("in_dim"))
            state, init = _widen_legacy(in_dim, state, init, path)
            gcn = GCNConfig(**gcn_raw)
            meta = dict(header["meta"])
            meta["k_range"] = tuple(meta["k_range"])
            config = MetaConfig(**meta)
            model = GCNPredictor(gcn)
            model.load_state_dict(state, strict=True)
            init_model = GCNPredictor(gcn)
            init_model.load_state_dict(init, strict=True)
        except (TypeError, ValueError, KeyError, RuntimeError) as exc:
            raise CorruptWeightsError(
                f"weights do not fit the recorded model: {exc}", path=path
            ) from exc
        out = cls(model, config, info=header.get("info", {}))
        out._init_state = {k: v.detach().clone() for k, v in init_model.state_dict().items()}
        out._n_adapted = int(header.get("n_adapted", 0))
        return out

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write this predictor (weights, meta-initialisation, configs, checksum) to ``path``."""
        buf = io.BytesIO()
        torch.save(self._payload(), buf)
        # a unique temporary file moved into place: never a half-written file under the final
        # name, and two saves to one path never share a temporary name
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, sha256: str | None = None) -> MetaPredictor:
        """Read a predictor written by :meth:`save`.

        Args:
            path: The file.
            sha256: If given, the file's expected hex SHA-256, checked before loading.

        Raises:
            FileNotFoundError: no such file.
            CorruptWeightsError: hash mismatch, truncated/altered file, other format version.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no predictor weights at {path}.")
        data = path.read_bytes()
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256.lower():
            raise CorruptWeightsError(
                f"SHA-256 {hashlib.sha256(data).hexdigest()} differs from the recorded {sha256}; "
                "the file is damaged or was replaced.",
                path=path,
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for damaged zip/pickle data
            raise CorruptWeightsError(
                f"cannot be read as predictor weights ({type(exc).__name__}: {exc}).", path=path
            ) from exc
        return cls._from_payload(payload, path)

    def __getstate__(self) -> dict[str, Any]:
        buf = io.BytesIO()
        torch.save(self._payload(), buf)
        return {"payload": buf.getvalue()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        payload = torch.load(io.BytesIO(state["payload"]), map_location="cpu", weights_only=True)
        other = self._from_payload(payload)
        self.__dict__.update(other.__dict__)
