"""A Ray Tune NAS job driven by MetaNASSearch, locally or on a cluster.

The searcher adapts the meta-learned predictor to every finished trial and proposes the next
architecture; ``ConcurrencyLimiter`` bounds parallel trials. Set ``RAY_ADDRESS`` (``auto`` or
``ray://head:10001``) to use an existing cluster; otherwise a local 2-CPU Ray is started.

    python examples/ray_meta_nas.py --benchmark nasbench_graph --task cora --samples 40
    RAY_ADDRESS=auto python examples/ray_meta_nas.py
    python examples/ray_meta_nas.py --smoke-test
"""

from __future__ import annotations

import argparse
import os
import tempfile

import ray
from ray import tune
from ray.tune.search import ConcurrencyLimiter

from nas_meta_tune import load_benchmark
from nas_meta_tune.exceptions import UnknownNameError
from nas_meta_tune.integrations.ray import benchmark_trainable
from nas_meta_tune.predictors import MetaPredictor
from nas_meta_tune.samplers import MetaNASSearch


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
    p.add_argument("--samples", type=int, default=40)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--storage", default=None, help="Ray Tune storage path (default: a temp dir)")
    p.add_argument("--smoke-test", action="store_true", help="a few trials only")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.samples = 4

    if os.environ.get("RAY_ADDRESS"):
        ray.init(address=os.environ["RAY_ADDRESS"])
    else:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    bench = load_benchmark(args.benchmark)
    searcher = ConcurrencyLimiter(
        MetaNASSearch(
            bench.space,
            held_out_predictor(args.benchmark, args.task),
            metric="valid",
            mode="max",
            seed=0,
        ),
        max_concurrent=args.concurrency,
    )
    tuner = tune.Tuner(
        benchmark_trainable(bench, args.task),
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=args.samples),
        run_config=tune.RunConfig(
            storage_path=args.storage or tempfile.mkdtemp(prefix="nmt-ray-"),
            name="meta-nas",
            verbose=0,
        ),
    )
    results = tuner.fit()
    best = results.get_best_result(metric="valid", mode="max")
    _, y = bench.table(args.task)
    print(
        f"{len(results)} trials, {results.num_errors} errors; best valid {best.metrics['valid']:.3f} "
        f"(task best {max(y):.3f}): {best.metrics['arch']}"
    )
    ray.shutdown()


if __name__ == "__main__":
    main()
