"""The command line's reports run on the real data."""

from __future__ import annotations

from nas_meta_tune.cli import main


def test_spaces_report(capsys, tmp_path):
    out_file = tmp_path / "spaces.md"
    assert main(["spaces", "--output", str(out_file)]) == 0
    text = capsys.readouterr().out
    assert "| nb201 | 6 | 0 | 15,625 | 6,466 |" in text
    assert "| nasbench_graph | 5 | 0 | 59,040 | 26,206 |" in text
    assert "`conv3x3`" in text and "nb101:conv3x3-bn-relu" in text
    assert out_file.read_text().startswith("# nas-meta-tune spaces")


def test_benchmarks_report(capsys):
    assert main(["benchmarks"]) == 0
    text = capsys.readouterr().out
    assert "| nasbench_graph | cora | 26,206 |" in text
    assert "| analognas | baseline | 15,625 |" in text
    assert "Cross-task Spearman" in text
