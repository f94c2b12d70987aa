"""Command line: ``nas-meta-tune <command>`` (also ``python -m nas_meta_tune.cli``).

Commands:
    spaces       the registered search spaces and the unified operation vocabulary
    benchmarks   per-task summary of every offline benchmark and cross-task rank correlations
    demo             the main job: MetaNASSampler vs TPE vs random search on a task the shipped
                     predictor never saw (NAS-Bench-Graph Cora), regret table + PNG plot
    meta-train       meta-train the GCN predictor from a TOML config (``--install`` ships it)
    eval-predictor   leave-one-task-out few-shot evaluation against the baselines
    data             benchmark data: ``list``, ``download NAME``, ``path [NAME]``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["main"]


def _spaces_report(out: list[str]) -> None:
    from .spaces import available_spaces, get_space, vocabulary_table

    out.append("## Search spaces\n")
    out.append("| space | parameters | conditional | configurations | unique (key) | graph nodes |")
    out.append("|---|---|---|---|---|---|")
    for name in available_spaces():
        s = get_space(name)
        n_cond = sum(p.parent is not None for p in s.params)
        if s.is_enumerable:
            archs = s.enumerate()
            total, uniq = f"{len(archs):,}", f"{len({s.key(a) for a in archs}):,}"
        else:
            total, uniq = "not enumerable", "-"
        out.append(f"| {name} | {len(s.params)} | {n_cond} | {total} | {uniq} | <= {s.max_nodes} |")
    out.append("\n## Unified operation vocabulary\n")
    out.append(vocabulary_table())


def _benchmarks_report(out: list[str], data_root: str | None) -> None:
    from scipy.stats import spearmanr

    from .benchmarks import available_benchmarks, load_benchmark
    from .exceptions import DataNotFoundError

    out.append("\n## Benchmarks (metric `valid`)\n")
    out.append("| benchmark | task | archs | best | median | top-1% threshold |")
    out.append("|---|---|---|---|---|---|")
    corr_lines: list[str] = []
    for name in available_benchmarks():
        try:
            bench = load_benchmark(
                name,
                **({} if name in ("nasbench_graph", "analognas") else {"data_root": data_root}),
            )
        except DataNotFoundError as exc:
            out.append(f"| {name} | (data not found: {exc}) | | | | |")
            continue
        columns: dict[str, dict] = {}
        for task in bench.tasks:
            archs, y = bench.table(task)
            ok = np.isfinite(y)
            out.append(
                f"| {name} | {task} | {len(archs):,} | {np.max(y[ok]):.3f} | {np.median(y[ok]):.3f} | "
                f"{np.quantile(y[ok], 0.99):.3f} |"
            )
            columns[task] = dict(
                zip((a.key if name == "nasbench_graph" else a.spec for a in archs), y)
            )
        if len(columns) > 1:
            tasks = list(columns)
            rhos, sizes = [], []
            for i, t1 in enumerate(tasks):
                for t2 in tasks[i + 1 :]:
                    keys = sorted(set(columns[t1]) & set(columns[t2]), key=str)
                    a = [columns[t1][k] for k in keys]
                    b = [columns[t2][k] for k in keys]
                    rhos.append(spearmanr(a, b).statistic)
                    sizes.append(len(keys))
            rho = np.array(rhos)
            corr_lines.append(
                f"| {name} | {len(tasks)} | {min(sizes):,}-{max(sizes):,} | {rho.mean():.2f} | {rho.min():.2f} | {rho.max():.2f} |"
            )
    out.append("\n## Cross-task Spearman correlation (how much one task tells about another)\n")
    out.append("| benchmark | tasks | archs per pair | mean | min | max |")
    out.append("|---|---|---|---|---|---|")
    out.extend(corr_lines)


def _demo_table(runs: dict, methods: list[str], checkpoints: list[int]) -> list[str]:
    """The demo's regret table (markdown lines): mean ± std over seeds at each checkpoint."""
    lines = [
        "| method | " + " | ".join(f"regret @{t}" for t in checkpoints) + " | median ms/trial |",
        "|---|" + "---|" * (len(checkpoints) + 1),
    ]
    for m in methods:
        reg = np.array([r["regret"] for r in runs[m]])
        ms = [x for r in runs[m] for x in r["overhead_ms"]]
        cells = [f"{reg[:, t - 1].mean():.2f} ± {reg[:, t - 1].std():.2f}" for t in checkpoints]
        lines.append(
            f"| {m} | " + " | ".join(cells) + f" | {np.median(ms):.0f} |"
            if ms
            else f"| {m} | " + " | ".join(cells) + " | - |"
        )
    return lines


def _demo_plot(runs: dict, methods: list[str], args: argparse.Namespace, n_seeds: int) -> None:
    """The demo's regret curves (``<output_dir>/regret.png``; a note when matplotlib is missing)."""
    out_dir = args.output_dir
    import os

    os.makedirs(out_dir, exist_ok=True)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not installed: no plot; pip install 'nas-meta-tune[plot]')")
    else:
        fig, ax = plt.subplots(figsize=(6, 4))
        x = np.arange(1, args.trials + 1)
        for m in methods:
            reg = np.array([r["regret"] for r in runs[m]])
            mean, lo, hi = (
                reg.mean(0),
                np.percentile(reg, 25, axis=0),
                np.percentile(reg, 75, axis=0),
            )
            ax.plot(x, mean, label=m)
            ax.fill_between(x, lo, hi, alpha=0.2)
        ax.set_xlabel("trials")
        ax.set_ylabel("regret (accuracy points, lower is better)")
        ax.set_xlim(1, args.trials)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.set_title(
            f"{args.task} with weights {args.weights!r} (never saw it):\n"
            f"mean regret, band = 25-75% over {n_seeds} seeds",
            fontsize=10,
        )
        ax.legend()
        fig.tight_layout()
        path = os.path.join(out_dir, "regret.png")
        fig.savefig(path, dpi=120)
        print(f"\nplot: {path}")


def _demo(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .integrations.experiments.runs import compare
    from .predictors import MetaPredictor

    if args.trials < 1 or args.seeds < 1:
        raise SystemExit(
            f"demo needs --trials >= 1 and --seeds >= 1, got --trials {args.trials} --seeds {args.seeds}."
        )
    methods = args.methods
    seeds = list(range(args.seeds))
    predictor = MetaPredictor.pretrained(args.weights)
    held = [t for t in predictor.info.get("config", {}).get("pool", {}).get("exclude", [])]
    print(f"# nas-meta-tune demo: {args.task}, {args.trials} trials x {len(seeds)} seeds\n")
    print(
        f"predictor: shipped weights {args.weights!r}, meta-trained without {held or 'nothing'}\n"
    )
    start = time.perf_counter()
    with tqdm(total=len(methods) * len(seeds) * args.trials, desc="trials", unit="trial") as bar:
        runs = compare(
            args.task,
            methods,
            n_trials=args.trials,
            seeds=seeds,
            predictor=predictor,
            data_root=args.data_root,
            on_trial=lambda: bar.update(1),
        )
    checkpoints = sorted(
        {t for t in (10, 20, 50, 100, 200, 500) if t < args.trials} | {args.trials}
    )
    lines = _demo_table(runs, methods, checkpoints)
    print(
        "\nRegret (best accuracy of the task minus best found, accuracy points; mean ± std over seeds):\n"
    )
    print("\n".join(lines))
    _demo_plot(runs, methods, args, len(seeds))
    print(f"\n(done in {time.perf_counter() - start:.1f} s)")
    return 0


def _progress(total: int):  # noqa: ANN202 - a callback(step, loss)
    """A ``callback(step, loss)`` printing progress against ``total`` steps and the time so far."""
    start = time.perf_counter()

    def report(step: int, loss: float) -> None:
        print(
            f"step {step:6d}/{total}  loss {loss:.4f}  {time.perf_counter() - start:6.1f} s",
            flush=True,
        )

    return report


def _meta_train(args: argparse.Namespace) -> int:
    from .predictors.training import install_weights, load_train_config, run_meta_train

    config = load_train_config(args.config)
    if args.steps is not None:
        config.meta.steps = args.steps
    predictor = run_meta_train(
        config,
        data_root=args.data_root,
        exclude=args.exclude,
        callback=_progress(config.meta.steps),
    )
    command = "nas-meta-tune " + " ".join(sys.argv[1:] if args.argv is None else args.argv)
    if args.install:
        path = install_weights(
            predictor, config.name, command=command, config_file=str(args.config).split("/")[-1]
        )
    else:
        path = predictor.save(args.out or f"{config.name}.pt")
    print(
        f"meta-trained on {len(predictor.info['tasks'])} tasks in {predictor.info['seconds']} s -> {path}"
    )
    return 0


def _train_lcpfn(args: argparse.Namespace) -> int:
    from .curves.pfn import PFNConfig, install_pfn_weights, prior_cross_entropy, train_lcpfn

    model = train_lcpfn(
        config=PFNConfig(),
        steps=args.steps,
        seed=args.seed,
        time_budget_s=args.time_budget,
        callback=_progress(args.steps),
    )
    model.info["prior_cross_entropy"] = round(prior_cross_entropy(model), 4)
    command = "nas-meta-tune " + " ".join(sys.argv[1:] if args.argv is None else args.argv)
    if args.install:
        path = install_pfn_weights(model, "lcpfn", command=command)
    else:
        path = model.save(args.out or "lcpfn.pt")
    print(
        f"LC-PFN trained for {model.info['steps']} steps in {model.info['wall_time_s']} s, "
        f"cross-entropy on fresh prior curves {model.info['prior_cross_entropy']} -> {path}"
    )
    return 0


def _eval_predictor(args: argparse.Namespace) -> int:
    import json

    from .predictors.evaluation import METHODS, evaluate_held_out
    from .predictors.training import TrainConfig, load_train_config

    if args.config:
        config = load_train_config(args.config)
    else:
        from .predictors.meta_predictor import WEIGHTS_DIR

        config = load_train_config(WEIGHTS_DIR / "default.toml")
    raw = config.to_dict()
    if args.steps is not None:
        raw["meta"]["steps"] = args.steps
    if args.pool == "family":
        raw["pool"] = {"families": [args.task.split("/")[0]], "tasks": None, "exclude": []}
    config = TrainConfig(raw, config.source)
    methods = args.methods or list(METHODS)
    result = evaluate_held_out(
        args.task,
        config=config,
        methods=methods,
        ks=args.k,
        seeds=args.seeds,
        data_root=args.data_root,
        progress=print,
    )
    print("\n| method | " + " | ".join(f"K={k}" for k in args.k) + " |")
    print("|---|" + "---|" * len(args.k))
    for m in methods:
        print(f"| {m} | " + " | ".join(f"{result[m][k]['spearman']:.3f}" for k in args.k) + " |")
    if args.output:
        with open(args.output, "w") as f:
            json.dump({args.task: result}, f, indent=1)
    return 0


_DESCRIPTION = (
    "nas-meta-tune: neural architecture search for Optuna, Ray Tune and Syne Tune with a "
    "meta-learned predictor. Run 'nas-meta-tune COMMAND --help' for a command's options."
)


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Option help with its default, and descriptions kept as written."""


def _human(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def _data(args: argparse.Namespace) -> int:
    import logging

    from .benchmarks._data import download_root
    from .data import (
        ChecksumMismatchError,
        DataDownloadError,
        describe_roots,
        download,
        find_dataset,
        status,
    )
    from .exceptions import UnknownNameError

    root = getattr(args, "root", None)
    if args.data_command == "list":
        lines = [
            "# nas-meta-tune data\n",
            "Data roots, searched in this order (first match wins):\n",
        ]
        if root is not None:
            lines.append(f"- --root: {root} (only there)")
        else:
            for what, where, searched in describe_roots():
                lines.append(f"- {what}: {where}{'' if searched else ' (not searched)'}")
        lines.append(f"\nDownloads go to: {download_root(root)}\n")
        lines.append("| data set | what | used by | source | licence | download | present |")
        lines.append("|---|---|---|---|---|---|---|")
        for row in status(root):
            present = row["present"] or f"no: `{row['get']}`"
            lines.append(
                f"| {row['name']} | {row['summary']} | {row['used_by']} | {row['source']} | "
                f"{row['license']} | {_human(row['bytes'])} | {present} |"
            )
        print("\n".join(lines))
        return 0
    if args.data_command == "path":
        if args.name is None:
            print(download_root(root))
            return 0
        try:
            found = find_dataset(args.name, root)
        except UnknownNameError as exc:
            print(f"nas-meta-tune data path: {exc}", file=sys.stderr)
            return 2
        if found is None:
            print(
                f"nas-meta-tune data path: {args.name} is not installed; run "
                f"`nas-meta-tune data download {args.name}`" + (f" --root {root}" if root else ""),
                file=sys.stderr,
            )
            return 1
        print(found)
        return 0
    # download
    log = logging.getLogger("nas_meta_tune")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    previous = log.level
    log.setLevel(logging.INFO)
    try:
        for name in args.names:
            folder = download(
                name, root, mirror=args.mirror, force=args.force, timeout=args.timeout
            )
            print(folder)
    except (
        UnknownNameError,
        DataDownloadError,
        ChecksumMismatchError,
        ImportError,
        ValueError,
    ) as exc:
        print(f"nas-meta-tune data download: {exc}", file=sys.stderr)
        return 1
    finally:
        log.removeHandler(handler)
        log.setLevel(previous)
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nas-meta-tune")
    except PackageNotFoundError:  # a source tree that is not installed
        return "unknown (not installed)"


_Command = Callable[[str, str], argparse.ArgumentParser]


def _add_meta_train(command: _Command) -> None:
    p = command("meta-train", "meta-train the GCN predictor from a TOML config")
    p.add_argument(
        "--config",
        required=True,
        help="TOML training config (see nas_meta_tune/predictors/weights/default.toml)",
    )
    p.add_argument("--out", default=None, help="weights file to write (default: <name>.pt)")
    p.add_argument(
        "--install", action="store_true", help="write into the package's weights/ and MANIFEST.json"
    )
    p.add_argument("--exclude", nargs="*", default=[], help="extra family/task names to leave out")
    p.add_argument("--steps", type=int, default=None, help="override [meta] steps")
    p.add_argument("--data-root", default=None, help="folder with the shared benchmark data")


def _add_train_lcpfn(command: _Command) -> None:
    p = command("train-lcpfn", "train the LC-PFN curve extrapolator on the parametric prior")
    p.add_argument("--steps", type=int, default=20000, help="training steps")
    p.add_argument("--seed", type=int, default=0, help="seed of the prior's curves and the init")
    p.add_argument("--time-budget", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--out", default=None, help="weights file to write (default: lcpfn.pt)")
    p.add_argument(
        "--install",
        action="store_true",
        help="write nas_meta_tune/curves/weights/lcpfn.pt and its MANIFEST.json entry",
    )


def _add_eval_predictor(command: _Command) -> None:
    p = command("eval-predictor", "leave-one-task-out few-shot evaluation")
    p.add_argument("--task", required=True, help="held-out task, e.g. transnas_micro/jigsaw")
    p.add_argument(
        "--config", default=None, help="TOML training config (default: the shipped default's)"
    )
    p.add_argument(
        "--pool",
        choices=("config", "family"),
        default="family",
        help="meta-train on the config's pool or the task's family",
    )
    p.add_argument("--methods", nargs="*", default=None, help="subset of methods (default: all)")
    p.add_argument("--k", nargs="*", type=int, default=[0, 5, 10, 20, 50], help="support-set sizes")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--steps", type=int, default=None, help="override [meta] steps")
    p.add_argument("--data-root", default=None)
    p.add_argument("--output", default=None, help="write the JSON result here")


def _add_demo(command: _Command) -> None:
    p = command("demo", "MetaNASSampler vs TPE vs random on a task the predictor never saw")
    p.add_argument(
        "--task", default="nasbench_graph/cora", help="family/task of a tabular benchmark"
    )
    p.add_argument(
        "--weights",
        default="demo_cora_held_out",
        help="shipped predictor weights (must not have seen the task)",
    )
    p.add_argument("--trials", type=int, default=100, help="trials per study (>= 1)")
    p.add_argument("--seeds", type=int, default=5, help="studies per method (seeds 0..N-1)")
    p.add_argument(
        "--methods",
        nargs="*",
        default=["meta_nas", "tpe", "random"],
        choices=["meta_nas", "tpe", "random", "gp", "static_transfer"],
        help="samplers to compare",
    )
    p.add_argument("--output-dir", default="demo_output", help="where regret.png is written")
    p.add_argument("--data-root", default=None, help="folder with the shared benchmark data")


def _add_data(command: _Command) -> None:
    p = command("data", "benchmark data: list the data sets, download one, show the data root")
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    q = data_sub.add_parser(
        "list", help="every data set: source, licence, size, whether present", formatter_class=_Help
    )
    q.add_argument("--root", default=None, help="look only in this data root")
    q = data_sub.add_parser(
        "download",
        help="fetch data sets from upstream, verify SHA-256, convert, install",
        formatter_class=_Help,
    )
    q.add_argument("names", nargs="+", metavar="NAME", help="data set(s), see `data list`")
    q.add_argument(
        "--root",
        default=None,
        help="data root to install into (default: $NAS_META_TUNE_DATA, else the per-user data directory)",
    )
    q.add_argument(
        "--mirror",
        default=None,
        help="base URL replacing https://raw.githubusercontent.com "
        "(default: $NAS_META_TUNE_DATA_MIRROR, else upstream)",
    )
    q.add_argument("--force", action="store_true", help="download again even if present")
    q.add_argument("--timeout", type=float, default=60.0, help="seconds per connection / read")
    q = data_sub.add_parser(
        "path",
        help="print the data root downloads go to, or where data set NAME is installed",
        formatter_class=_Help,
    )
    q.add_argument("name", nargs="?", default=None, metavar="NAME")
    q.add_argument("--root", default=None, help="look only in this data root")


def _add_reports(command: _Command) -> None:
    for cmd, help_ in (
        ("spaces", "list the search spaces and the unified vocabulary"),
        ("benchmarks", "summarise every offline benchmark"),
    ):
        p = command(cmd, help_)
        p.add_argument("--data-root", default=None, help="folder with the shared benchmark data")
        p.add_argument(
            "--output", default=None, help="also write the report (markdown) to this file"
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nas-meta-tune", description=_DESCRIPTION, formatter_class=_Help
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_, formatter_class=_Help)

    for add in (
        _add_meta_train,
        _add_train_lcpfn,
        _add_eval_predictor,
        _add_demo,
        _add_data,
        _add_reports,
    ):
        add(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nas-meta-tune`` command line (``argv``: default ``sys.argv[1:]``); exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.argv = None if argv is None else list(argv)
    if args.command == "meta-train":
        return _meta_train(args)
    if args.command == "eval-predictor":
        return _eval_predictor(args)
    if args.command == "train-lcpfn":
        return _train_lcpfn(args)
    if args.command == "demo":
        return _demo(args)
    if args.command == "data":
        return _data(args)

    start = time.perf_counter()
    out: list[str] = [f"# nas-meta-tune {args.command}\n"]
    if args.command == "spaces":
        _spaces_report(out)
    if args.command == "benchmarks":
        _benchmarks_report(out, args.data_root)
    out.append(f"\n(done in {time.perf_counter() - start:.1f} s)")
    text = "\n".join(out)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
