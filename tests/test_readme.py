"""The README's quickstart really runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest


def test_readme_quickstart_runs(capsys):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## Quickstart") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "(x)@nor_conv_3x3" in out


@pytest.mark.slow
def test_readme_meta_predictor_section_runs(capsys):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[
        text.index("## NAS with the meta-predictor") : text.index("## Stopping weak trials early")
    ]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    namespace: dict = {}
    for code in blocks:
        exec(compile(code, "README.md", "exec"), namespace)
    assert len(namespace["study"].trials) == 20
    assert namespace["mean"].shape == (20,) and (namespace["std"] >= 0).all()


def test_readme_learning_curve_section_runs(capsys, data_root):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## Stopping weak trials early") : text.index("## Zero-cost proxies")]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    states = [t.state for t in namespace["study"].trials]
    assert len(states) == 15 and optuna.trial.TrialState.PRUNED in states
    assert "StopDecision" in capsys.readouterr().out


def test_readme_proxies_section_runs():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## Zero-cost proxies") : text.index("## Many workers")]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    scores = namespace["scores"]
    assert scores.shape == (3, 2) and (scores[:, 1] > 0).all()


@pytest.mark.slow
def test_readme_many_workers_section_runs(tmp_path, monkeypatch):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## Many workers, killed workers") : text.index("## Search spaces")]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    monkeypatch.chdir(tmp_path)  # the journal file lands here
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert len(namespace["study"].trials) == 5 and (tmp_path / "nas.log").stat().st_size > 0
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in namespace["study"].trials)


def test_readme_own_search_space_section_runs():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## Your own search space") : text.index("## Several objectives")]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    lines = [
        ln
        for ln in code.strip().splitlines()
        if ln.strip() and not ln.startswith(("import", "from"))
    ]
    assert len(lines) <= 15  # declaring and searching a space: a few lines of user code
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    study = namespace["study"]
    assert len({tuple(t.params.values()) for t in study.trials}) == 10


@pytest.mark.slow
def test_readme_several_objectives_section_runs(capsys, data_root):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## Several objectives") : text.index("## Benchmarks")]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    study = namespace["study"]
    assert len(study.directions) == 2 and len(study.trials) == 10
    assert len({tuple(t.params.values()) for t in study.trials}) == 10
    assert study.best_trials and "[" in capsys.readouterr().out
