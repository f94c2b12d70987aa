"""Planetoid citation graphs (Cora, CiteSeer, PubMed; public split) read offline from local raw
files; processed in a writable cache, never downloaded."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .._logging import get_logger
from ..benchmarks._data import resolve_data_file
from ..exceptions import UnknownNameError

if TYPE_CHECKING:
    from torch_geometric.data import InMemoryDataset

__all__ = ["CACHE_ENV_VAR", "PLANETOID_NAMES", "load_planetoid", "planetoid_name"]

_log = get_logger(__name__)

#: environment variable naming the writable folder Planetoid processes its copies in
CACHE_ENV_VAR = "NAS_META_TUNE_CACHE"
#: dataset name (lower case, as the benchmark's tasks) -> torch_geometric's Planetoid name
PLANETOID_NAMES: dict[str, str] = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
_RAW_PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


def _default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV_VAR)
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "nas_meta_tune"
    return base / "planetoid"


def planetoid_name(name: str) -> str:
    """torch_geometric's name of the Planetoid dataset ``name`` (any case).

    Raises:
        UnknownNameError: not a Planetoid dataset.
    """
    key = name.lower()
    if key not in PLANETOID_NAMES:
        raise UnknownNameError("Planetoid dataset", name, tuple(PLANETOID_NAMES))
    return PLANETOID_NAMES[key]


def load_planetoid(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> InMemoryDataset:
    """Load a Planetoid citation graph (public split) from local raw files; never downloads.

    The raw files are read from ``<data root>/planetoid/<Name>/raw/`` (the data root is ``root``,
    else ``$NAS_META_TUNE_DATA``, else ``shared/data`` beside the source checkout, as for the
    benchmarks). torch_geometric writes a ``processed/`` folder next to them, so on first use they
    are copied to a writable cache (``cache_dir``, else ``$NAS_META_TUNE_CACHE/planetoid``, else
    ``~/.cache/nas_meta_tune/planetoid``) and processed there; the data root is never written to.
    Concurrent first uses (worker processes) are safe: each prepares a private copy and the first
    to finish publishes it with an atomic rename.

    Args:
        name: ``"cora"``, ``"citeseer"`` or ``"pubmed"`` (any case).
        root: Data root holding ``planetoid/``.
        cache_dir: Writable folder for the processed copy.

    Returns:
        torch_geometric's ``Planetoid`` dataset (``dataset[0]`` is the graph, with
        ``train_mask``/``val_mask``/``test_mask``).

    Raises:
        FileNotFoundError: (:class:`~nas_meta_tune.exceptions.DataNotFoundError`) a raw file is
            missing; the message names the path.
        UnknownNameError: not a Planetoid dataset.
    """
    from torch_geometric.datasets import Planetoid

    pname = planetoid_name(name)
    raw_src = resolve_data_file(f"planetoid/{pname}/raw", root)
    files = [raw_src / f"ind.{pname.lower()}.{part}" for part in _RAW_PARTS]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(
            f"Planetoid raw file(s) missing: {', '.join(missing)}. Nothing is downloaded: put the "
            f"raw files (as torch_geometric.datasets.Planetoid downloads them) in {raw_src}."
        )

    class _OfflinePlanetoid(Planetoid):
        def download(self) -> None:  # pragma: no cover - raw files are copied first
            raise FileNotFoundError(f"Planetoid raw files not found under {self.raw_dir}.")

    cache = Path(cache_dir).expanduser() if cache_dir is not None else _default_cache_dir()
    target = cache / pname
    if not (target / "processed" / "data.pt").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{pname}-", dir=cache))
        try:
            raw_copy = staging / pname / "raw"
            raw_copy.mkdir(parents=True)
            for f in files:  # contents only: the data root's files may be read-only
                shutil.copyfile(f, raw_copy / f.name)
            _OfflinePlanetoid(str(staging), pname)  # processes into staging/<Name>/processed
            if target.exists():
                shutil.rmtree(target)  # an incomplete copy (no processed data)
            os.rename(staging / pname, target)
            _log.info("prepared %s in %s", pname, target)
        except OSError:
            if not (target / "processed" / "data.pt").is_file():
                raise  # not a lost race
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _OfflinePlanetoid(str(cache), pname)
