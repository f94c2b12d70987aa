"""A Syne Tune NAS run with MetaNASSyneSearcher on the local backend (one process per trial).

Each trial runs ``benchmark_entry_point()``, a script that looks its architecture up in a real
tabular benchmark and reports it with Syne Tune's ``Reporter``; use your own training script
the same way.

    python examples/syne_meta_nas.py --benchmark nasbench_graph --task cora --trials 30
    python examples/syne_meta_nas.py --smoke-test
"""

from __future__ import annotations

import argparse

from syne_tune import StoppingCriterion, Tuner
from syne_tune.backend import LocalBackend
from syne_tune.optimizer.schedulers.single_objective_scheduler import SingleObjectiveScheduler

from nas_meta_tune import load_benchmark
from nas_meta_tune.exceptions import UnknownNameError
from nas_meta_tune.integrations.syne import benchmark_entry_point, syne_config_space
from nas_meta_tune.predictors import MetaPredictor
from nas_meta_tune.samplers import MetaNASSyneSearcher


def held_out_predictor(benchmark: str, task: str) -> MetaPredictor:
    """Shipped weights that never saw the task, so the run shows transfer; where none left it
    out, the default weights, with a plain warning that the result shows what they memorised."""
    try:
        return MetaPredictor.pretrained_without(f"{benchmark}/{task}")
    except UnknownNameError:
        print(
            f"note: every shipped predictor was meta-trained on {benchmark}/{task}; this run shows "
            "what it memorised, not transfer to a new task (the default, nasbench_graph/cora, is "
            "held out by the shipped 'demo_cora_held_out' weights)."
        )
        return MetaPredictor.pretrained()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--benchmark", default="nasbench_graph")
    p.add_argument("--task", default="cora")
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--data-root", default=None)
    p.add_argument("--smoke-test", action="store_true", help="a few trials only")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.trials = 4

    kwargs = (
        {} if args.benchmark in ("nasbench_graph", "analognas") else {"data_root": args.data_root}
    )
    bench = load_benchmark(args.benchmark, **kwargs)
    space = bench.space
    config_space = {**syne_config_space(space), "benchmark": args.benchmark, "task": args.task}
    if args.data_root:
        config_space["data_root"] = args.data_root
    searcher = MetaNASSyneSearcher(
        config_space,
        space=space,
        predictor=held_out_predictor(args.benchmark, args.task),
        random_seed=0,
    )
    tuner = Tuner(
        trial_backend=LocalBackend(entry_point=benchmark_entry_point()),
        scheduler=SingleObjectiveScheduler(
            config_space, metric="valid", do_minimize=False, searcher=searcher
        ),
        stop_criterion=StoppingCriterion(max_num_trials_finished=args.trials),
        n_workers=args.workers,
        sleep_time=0.2,
        save_tuner=False,
        tuner_name="meta-nas-syne",
    )
    tuner.run()
    best_arch, best = max(searcher.history, key=lambda t: t[1])
    _, y = bench.table(args.task)
    print(
        f"{len(searcher.history)} trials; best valid {best:.3f} (task best {max(y):.3f}): {space.to_string(best_arch)}"
    )


if __name__ == "__main__":
    main()
