"""The command line's reports run on the real data."""

from __future__ import annotations

import pytest

from nas_meta_tune.cli import main


def test_spaces_report(capsys, tmp_path):
    out_file = tmp_path / "spaces.md"
    assert main(["spaces", "--output", str(out_file)]) == 0
    text = capsys.readouterr().out
    assert "| nb201 | 6 | 0 | 15,625 | 6,466 |" in text
    assert "| nasbench_graph | 5 | 0 | 59,040 | 26,206 |" in text
    assert "`conv3x3`" in text and "nb101:conv3x3-bn-relu" in text
    assert out_file.read_text().startswith("# nas-meta-tune spaces")


@pytest.mark.slow
def test_benchmarks_report(capsys):
    assert main(["benchmarks"]) == 0
    text = capsys.readouterr().out
    assert "| nasbench_graph | cora | 26,206 |" in text
    assert "| analognas | baseline | 15,625 |" in text
    assert "Cross-task Spearman" in text


@pytest.mark.slow
def test_demo_runs_optuna_studies_and_writes_a_plot(capsys, tmp_path):
    assert main(["demo", "--trials", "6", "--seeds", "1", "--output-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for m in ("meta_nas", "tpe", "random"):
        assert f"| {m} |" in text
    assert "without ['nasbench_graph/cora']" in text
    assert (tmp_path / "regret.png").stat().st_size > 1000


def test_demo_with_fewer_trials_than_the_first_checkpoint(capsys, tmp_path):
    args = ["demo", "--trials", "3", "--seeds", "1", "--methods", "random", "tpe"]
    assert main([*args, "--output-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "| method | regret @3 | median ms/trial |" in text and "| random | " in text
    with pytest.raises(SystemExit, match="--trials >= 1"):
        main(["demo", "--trials", "0", "--output-dir", str(tmp_path)])


def test_version_and_help_show_every_default(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("nas-meta-tune ")
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "``" not in top and "COMMAND" in top  # plain text, no RST markup
    for command in ("demo", "train-lcpfn", "meta-train", "eval-predictor"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        options = [ln for ln in text.splitlines() if ln.strip().startswith("--")]
        assert options and "(default:" in text
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    demo = capsys.readouterr().out
    assert "(default: 100)" in demo and "{meta_nas,tpe,random,gp,static_transfer}" in demo


def test_meta_train_and_eval_predictor_commands(capsys, tmp_path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(
        'name = "tiny"\nseed = 0\n[pool]\ntasks = ["transnas_micro/class_scene", "transnas_micro/normal"]\n'
        "[meta]\nsteps = 5\nmeta_batch = 2\nquery = 20\nk_range = [5, 10]\ninner_steps = 1\n"
    )
    out = tmp_path / "tiny.pt"
    assert main(["meta-train", "--config", str(cfg), "--out", str(out)]) == 0
    from nas_meta_tune.predictors import MetaPredictor

    p = MetaPredictor.load(out)
    assert p.info["tasks"] == ["transnas_micro/class_scene", "transnas_micro/normal"]
    res = tmp_path / "eval.json"
    assert (
        main(
            [
                "eval-predictor",
                "--task",
                "transnas_micro/jigsaw",
                "--config",
                str(cfg),
                "--methods",
                "boil",
                "static_transfer",
                "--k",
                "0",
                "10",
                "--seeds",
                "2",
                "--output",
                str(res),
            ]
        )
        == 0
    )
    import json

    data = json.loads(res.read_text())["transnas_micro/jigsaw"]
    assert set(data["boil"]) == {"0", "10"} and data["static_transfer"]["10"]["seeds"] == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\nbogus = 1\n")
    import pytest

    with pytest.raises(ValueError, match="unknown keys"):
        main(["meta-train", "--config", str(bad)])


def test_train_lcpfn_command_writes_loadable_weights(capsys, tmp_path):
    from nas_meta_tune.curves.pfn import LCPFN

    out = tmp_path / "pfn.pt"
    assert main(["train-lcpfn", "--steps", "3", "--out", str(out)]) == 0
    assert "LC-PFN trained for 3 steps" in capsys.readouterr().out
    model = LCPFN.load(out)
    assert model.info["steps"] == 3 and "prior_cross_entropy" in model.info
