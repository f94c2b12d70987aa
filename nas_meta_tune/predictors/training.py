"""Config-driven meta-training (``nas-meta-tune meta-train``) and the shipped-weights manifest.

A training config is a TOML file::

    name = "default"          # the name MetaPredictor.pretrained() knows it by
    seed = 0
    time_budget_s = 1800      # optional hard stop

    [pool]                    # which real tasks to meta-train on (see tasks.FAMILIES)
    families = ["nasbench_graph", "transnas_micro", "nb201", "analognas"]
    exclude = []              # "family/task" names to leave out (e.g. a demo's task)

    [meta]                    # MetaConfig fields
    algorithm = "boil"
    steps = 1500

    [gcn]                     # GCNConfig fields
    hidden = 64

The shipped weights are made with ``nas-meta-tune meta-train --config
nas_meta_tune/predictors/weights/<name>.toml --install``, which writes ``<name>.pt`` next to the
config and records its SHA-256, size, training tasks and wall time in ``MANIFEST.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

from .._logging import get_logger
from .gcn import GCNConfig
from .meta import MetaConfig, meta_train
from .meta_predictor import WEIGHTS_DIR, MetaPredictor, file_sha256
from .tasks import load_task_pool

__all__ = ["TrainConfig", "load_train_config", "run_meta_train", "install_weights"]
_log = get_logger(__name__)


class TrainConfig:
    """A parsed training config (see the module docstring for the file format)."""

    _TOP = {"name", "seed", "time_budget_s", "pool", "meta", "gcn"}
    _POOL = {"families", "tasks", "exclude"}

    def __init__(self, raw: dict[str, Any], source: str = "<dict>") -> None:
        unknown = set(raw) - self._TOP
        if unknown:
            raise ValueError(
                f"{source}: unknown keys {sorted(unknown)}; allowed: {sorted(self._TOP)}."
            )
        pool = dict(raw.get("pool", {}))
        if set(pool) - self._POOL:
            raise ValueError(
                f"{source}: unknown [pool] keys {sorted(set(pool) - self._POOL)}; allowed: {sorted(self._POOL)}."
            )
        self.name: str = str(raw.get("name", "custom"))
        self.seed: int = int(raw.get("seed", 0))
        self.time_budget_s: float | None = raw.get("time_budget_s")
        self.families: list[str] | None = pool.get("families")
        self.tasks: list[str] | None = pool.get("tasks")
        self.exclude: list[str] = list(pool.get("exclude", []))
        meta = dict(raw.get("meta", {}))
        if "k_range" in meta:
            meta["k_range"] = tuple(meta["k_range"])
        try:
            self.meta = MetaConfig(**meta)
            self.gcn = GCNConfig(**raw.get("gcn", {}))
        except TypeError as exc:
            raise ValueError(f"{source}: bad [meta] or [gcn] section: {exc}") from exc
        self.source = source

    def to_dict(self) -> dict[str, Any]:
        """The configuration as a plain dict, in the TOML file's layout."""
        return {
            "name": self.name,
            "seed": self.seed,
            "time_budget_s": self.time_budget_s,
            "pool": {"families": self.families, "tasks": self.tasks, "exclude": self.exclude},
            "meta": self.meta.to_dict(),
            "gcn": self.gcn.to_dict(),
        }


def load_train_config(path: str | os.PathLike[str]) -> TrainConfig:
    """Parse a TOML training config."""
    path = Path(path)
    with open(path, "rb") as f:
        try:
            raw = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: invalid TOML: {exc}") from exc
    return TrainConfig(raw, str(path))


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
            timeout=10,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_meta_train(
    config: TrainConfig,
    *,
    data_root: str | os.PathLike[str] | None = None,
    exclude: list[str] | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> MetaPredictor:
    """Meta-train the predictor a config describes; ``exclude`` adds held-out tasks."""
    tasks = load_task_pool(
        config.families,
        tasks=config.tasks,
        exclude=[*config.exclude, *(exclude or [])],
        data_root=data_root,
    )
    if not tasks:
        raise ValueError(f"{config.source}: the task pool is empty after exclusions.")
    _log.info("meta-training %s on %d tasks", config.meta.algorithm, len(tasks))
    result = meta_train(
        tasks,
        config=config.meta,
        gcn=config.gcn,
        seed=config.seed,
        callback=callback,
        time_budget_s=config.time_budget_s,
    )
    return MetaPredictor.from_result(
        result, info={"config": config.to_dict(), "commit": _git_commit()}
    )


def install_weights(
    predictor: MetaPredictor, name: str, *, command: str, config_file: str | None = None
) -> Path:
    """Save ``predictor`` as the shipped weights ``name`` and record its SHA-256 in the manifest."""
    path = predictor.save(WEIGHTS_DIR / f"{name}.pt")
    manifest_path = WEIGHTS_DIR / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[name] = {
        "file": path.name,
        "sha256": file_sha256(path),
        "bytes": path.stat().st_size,
        "config": config_file,
        "command": command,
        "tasks": predictor.info.get("tasks", []),
        "train_seconds": predictor.info.get("seconds"),
        "commit": predictor.info.get("commit"),
        "created": time.strftime("%Y-%m-%d"),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path
