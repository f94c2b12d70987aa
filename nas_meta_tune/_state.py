"""Plain-data state files for searchers and schedulers: JSON, written atomically, never pickle.

A checkpoint is read back only as JSON data (numbers, strings, lists, dicts), so loading a file
cannot run code, unlike ``pickle.load``. Writes go to a unique temporary file in the target's
folder and are moved into place with ``os.replace``, so a crash mid-write never leaves a
half-written checkpoint and two writers never share a temporary name.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_write_bytes", "read_state", "write_state"]

_FORMAT = "nas-meta-tune/state"


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    return x


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a unique temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_state(path: str | os.PathLike[str], kind: str, state: dict[str, Any]) -> Path:
    """Write ``state`` (plain data; numpy values are converted) as a JSON checkpoint of ``kind``."""
    payload = {"format": _FORMAT, "kind": kind, "version": 1, "state": _plain(state)}
    return atomic_write_bytes(path, json.dumps(payload, allow_nan=True).encode())


def read_state(path: str | os.PathLike[str], kind: str) -> dict[str, Any]:
    """The state saved by :func:`write_state` for ``kind``.

    Raises:
        ValueError: the file is not such a checkpoint (e.g. a pickle written by an older
            version, which is not loaded: unpickling can run arbitrary code).
    """
    raw = Path(path).read_bytes()
    try:
        payload = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{path} is not a nas-meta-tune {kind} checkpoint (JSON expected; checkpoints of "
            "nas-meta-tune 0.1 were pickles, which are not loaded because unpickling can run "
            "code: restart the run, or load it with the version that wrote it)."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a nas-meta-tune checkpoint (no {_FORMAT!r} header).")
    if payload.get("kind") != kind:
        raise ValueError(f"{path} holds a {payload.get('kind')!r} checkpoint, not a {kind!r} one.")
    return payload["state"]
