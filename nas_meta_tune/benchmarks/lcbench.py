"""LCBench learning curves from the YAHPO Gym surrogate (read with ``onnxruntime`` directly).

LCBench (Zimmer, Lindauer & Hutter, "Auto-PyTorch Tabular", TPAMI 2021) trained 2,000 MLP
configurations on 35 OpenML datasets for 52 epochs each. YAHPO Gym (Pfisterer et al., AutoML-Conf
2022) fitted a neural-network **surrogate** to those logs; this module evaluates that surrogate. The
curves are therefore model outputs, not measurements: they are realistic and smooth (no
epoch-to-epoch noise), which makes extrapolation easier than on real training logs.

The files are read from ``yahpo_lcbench_surrogate/lcbench/`` under the data root
(``model.onnx``, ``config_space.json``, ``encoding.json``); the ``yahpo_gym`` package is not used
(it pins ``numpy<2``). Its input encoding is reproduced here: the categorical input ``x_cat`` is the
integer code of ``OpenML_task_id`` from ``encoding.json``; the continuous input ``x_cont`` holds the
raw (untransformed) values of ``epoch, batch_size, learning_rate, momentum, weight_decay,
num_layers, max_units, max_dropout`` in that order, as ``float32``. The model's six outputs are
``time, val_accuracy, val_cross_entropy, val_balanced_accuracy, test_cross_entropy,
test_balanced_accuracy``.

Example:
    >>> bench = LCBenchSurrogate()  # doctest: +SKIP
    >>> configs = bench.sample_configs(3, seed=0)  # doctest: +SKIP
    >>> bench.curves("3945", configs).shape  # doctest: +SKIP
    (3, 52)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._imports import require
from ._data import resolve_data_file

__all__ = ["LCBenchSurrogate", "LCBENCH_METRICS", "LCBENCH_HYPERPARAMETERS"]

_FOLDER = "yahpo_lcbench_surrogate/lcbench"

#: the surrogate's outputs, in column order
LCBENCH_METRICS: tuple[str, ...] = (
    "time",
    "val_accuracy",
    "val_cross_entropy",
    "val_balanced_accuracy",
    "test_cross_entropy",
    "test_balanced_accuracy",
)

#: the tuned hyperparameters, in the order of the model's continuous input (after ``epoch``)
LCBENCH_HYPERPARAMETERS: tuple[str, ...] = (
    "batch_size",
    "learning_rate",
    "momentum",
    "weight_decay",
    "num_layers",
    "max_units",
    "max_dropout",
)


class LCBenchSurrogate:
    """Per-epoch LCBench curves for any ``(task_id, config)``, from the YAHPO Gym ONNX surrogate.

    This is a *surrogate* benchmark: every value is the prediction of a neural network fitted to
    the real LCBench logs, not a training run. Curves are deterministic and smooth.

    Args:
        data_root: Data root holding ``yahpo_lcbench_surrogate/lcbench`` (default: the
            ``data_root`` resolution of :mod:`nas_meta_tune.benchmarks._data`).
        n_threads: Threads ``onnxruntime`` may use (default 1).

    Raises:
        DataNotFoundError: A ``FileNotFoundError`` naming the missing path when the surrogate
            files are not there.

    Attributes:
        task_ids: The 34 OpenML task ids (strings) of the surrogate's configuration space.
        epochs: ``int64[52]``, the fidelities ``1..52``.
        bounds: Hyperparameter name -> ``(lower, upper, log, is_int)`` from ``config_space.json``.
    """

    def __init__(
        self, data_root: str | os.PathLike[str] | None = None, *, n_threads: int = 1
    ) -> None:
        if not isinstance(n_threads, int) or n_threads < 1:
            raise ValueError(f"n_threads must be a positive int, but got {n_threads=}.")
        self.model_path: Path = resolve_data_file(f"{_FOLDER}/model.onnx", data_root)
        folder = self.model_path.parent
        space_path = resolve_data_file(f"{_FOLDER}/config_space.json", data_root)
        enc_path = resolve_data_file(f"{_FOLDER}/encoding.json", data_root)
        with open(space_path, encoding="utf-8") as f:
            space = json.load(f)
        with open(enc_path, encoding="utf-8") as f:
            self._encoding: dict[str, int] = {
                str(k): int(v) for k, v in json.load(f)["OpenML_task_id"].items()
            }
        self.folder = folder
        self.n_threads = n_threads
        hps = {hp["name"]: hp for hp in space["hyperparameters"]}
        self.task_ids: tuple[str, ...] = tuple(str(c) for c in hps["OpenML_task_id"]["choices"])
        self.bounds: dict[str, tuple[float, float, bool, bool]] = {
            name: (
                float(hps[name]["lower"]),
                float(hps[name]["upper"]),
                bool(hps[name].get("log", False)),
                hps[name]["type"] == "uniform_int",
            )
            for name in LCBENCH_HYPERPARAMETERS
        }
        lo, hi = int(hps["epoch"]["lower"]), int(hps["epoch"]["upper"])
        self.epochs: np.ndarray = np.arange(lo, hi + 1, dtype=np.int64)
        self._session: Any = None

    def __repr__(self) -> str:
        return f"LCBenchSurrogate(folder={str(self.folder)!r})"

    # ----------------------------------------------------------------- helpers
    def _get_session(self) -> Any:
        if self._session is None:
            ort = require("onnxruntime", feature="the YAHPO LCBench surrogate")

            options = ort.SessionOptions()
            options.intra_op_num_threads = self.n_threads
            options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(
                str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        return self._session

    def _task_code(self, task_id: str | int) -> int:
        key = str(task_id)
        if key not in self.task_ids or key not in self._encoding:
            raise ValueError(
                f"task_id must be one of the surrogate's OpenML task ids {list(self.task_ids)}, "
                f"but got {task_id=}."
            )
        return self._encoding[key]

    def _config_row(self, config: Mapping[str, Any]) -> list[float]:
        missing = [k for k in LCBENCH_HYPERPARAMETERS if k not in config]
        if missing:
            raise ValueError(f"config lacks hyperparameters {missing}; got {config=}.")
        row = []
        for name in LCBENCH_HYPERPARAMETERS:
            value = float(config[name])
            lo, hi, _, _ = self.bounds[name]
            if not (lo - 1e-9 * max(1.0, abs(lo)) <= value <= hi + 1e-9 * max(1.0, abs(hi))):
                raise ValueError(f"{name} must lie in [{lo}, {hi}], but got {config=}.")
            row.append(value)
        return row

    # -------------------------------------------------------------------- API
    def sample_configs(self, n: int, seed: int | None = 0) -> list[dict[str, float | int]]:
        """``n`` configurations drawn uniformly from the configuration space (log-uniform where
        the space says ``log``; integers rounded), reproducibly for an int ``seed``."""
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative int, but got {n=}.")
        rng = np.random.default_rng(seed)
        out: list[dict[str, float | int]] = [{} for _ in range(int(n))]
        for name in LCBENCH_HYPERPARAMETERS:
            lo, hi, log, is_int = self.bounds[name]
            if is_int:
                # uniform on [lo - 0.5, hi + 0.5] (in log space if log) then rounded, as ConfigSpace does
                a, b = lo - 0.4999, hi + 0.4999
                if log:
                    u = np.exp(rng.uniform(math.log(a), math.log(b), size=n))
                else:
                    u = rng.uniform(a, b, size=n)
                vals: np.ndarray = np.clip(np.rint(u), lo, hi).astype(np.int64)
                for cfg, v in zip(out, vals):
                    cfg[name] = int(v)
            else:
                if log:
                    fv = np.exp(rng.uniform(math.log(lo), math.log(hi), size=n))
                else:
                    fv = rng.uniform(lo, hi, size=n)
                fv = np.clip(fv, lo, hi)
                for cfg, v in zip(out, fv):
                    cfg[name] = float(v)
        return out

    def evaluate(
        self,
        task_id: str | int,
        configs: Sequence[Mapping[str, Any]],
        epochs: Sequence[int] | np.ndarray,
    ) -> np.ndarray:
        """Surrogate outputs for every ``(config, epoch)`` pair.

        Args:
            task_id: An OpenML task id of :attr:`task_ids` (str or int).
            configs: Configurations with the keys of :data:`LCBENCH_HYPERPARAMETERS`.
            epochs: Epochs in ``1..52``.

        Returns:
            ``float64[len(configs), len(epochs), 6]``, the last axis ordered as
            :data:`LCBENCH_METRICS`.
        """
        code = self._task_code(task_id)
        ep = np.asarray(epochs, dtype=np.float64).reshape(-1)
        if ep.size and (
            np.any(~np.isfinite(ep)) or ep.min() < self.epochs[0] or ep.max() > self.epochs[-1]
        ):
            raise ValueError(
                f"epochs must lie in [{self.epochs[0]}, {self.epochs[-1]}], but got {epochs=}."
            )
        rows = np.array([self._config_row(c) for c in configs], dtype=np.float64).reshape(-1, 7)
        n, m = rows.shape[0], ep.size
        if n == 0 or m == 0:
            return np.zeros((n, m, len(LCBENCH_METRICS)))
        x_cont = np.empty((n, m, 8), dtype=np.float32)
        x_cont[:, :, 0] = ep[None, :]
        x_cont[:, :, 1:] = rows[:, None, :]
        x_cat = np.full((n * m, 1), code, dtype=np.int32)
        session = self._get_session()
        names = [i.name for i in session.get_inputs()]
        feeds = {"x_cat": x_cat, "x_cont": x_cont.reshape(n * m, 8)}
        if set(names) != set(feeds):
            raise RuntimeError(f"unexpected surrogate inputs {names}; expected x_cat and x_cont.")
        out = session.run(None, feeds)[0]
        return np.asarray(out, dtype=np.float64).reshape(n, m, len(LCBENCH_METRICS))

    def curves(
        self,
        task_id: str | int,
        configs: Sequence[Mapping[str, Any]],
        *,
        metric: str = "val_accuracy",
    ) -> np.ndarray:
        """``float64[len(configs), 52]``: ``metric`` at epochs ``1..52`` (one surrogate call).

        ``val_accuracy`` is in percent (higher is better); ``*_cross_entropy`` lower is better;
        ``time`` is the predicted cumulative training time in seconds.
        """
        if metric not in LCBENCH_METRICS:
            raise ValueError(f"metric must be one of {LCBENCH_METRICS}, but got {metric=}.")
        out = self.evaluate(task_id, configs, self.epochs)
        return out[:, :, LCBENCH_METRICS.index(metric)]

    def curve(
        self, task_id: str | int, config: Mapping[str, Any], *, metric: str = "val_accuracy"
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(epochs, values)`` of one configuration: ``float64[52]`` each (epochs ``1..52``)."""
        return self.epochs.astype(np.float64), self.curves(task_id, [config], metric=metric)[0]
