"""A Ray Tune job over a NAS benchmark's architectures, locally or on a cluster.

The search space is ``ray_param_space(space)`` and every trial looks its architecture up in the
benchmark (per epoch where the benchmark has learning curves). Set ``RAY_ADDRESS`` (e.g.
``ray://head:10001`` or ``auto``) to run on an existing cluster; otherwise a local Ray instance
with 2 CPUs is started.

    python examples/ray_benchmark_job.py --benchmark nasbench_graph --task citeseer --samples 50
    RAY_ADDRESS=auto python examples/ray_benchmark_job.py
    python examples/ray_benchmark_job.py --smoke-test
"""

from __future__ import annotations

import argparse
import os
import tempfile

import ray
from ray import tune

from nas_meta_tune import load_benchmark
from nas_meta_tune.integrations.ray import benchmark_trainable, ray_param_space


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--benchmark", default="nasbench_graph")
    p.add_argument("--task", default="citeseer")
    p.add_argument("--samples", type=int, default=50)
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
    tuner = tune.Tuner(
        benchmark_trainable(bench, args.task),
        param_space=ray_param_space(bench.space),
        tune_config=tune.TuneConfig(metric="valid", mode="max", num_samples=args.samples),
        run_config=tune.RunConfig(
            storage_path=args.storage or tempfile.mkdtemp(prefix="nmt-ray-"),
            name="nas-benchmark",
            verbose=0,
        ),
    )
    results = tuner.fit()
    best = results.get_best_result()
    print(
        f"{len(results)} trials, {results.num_errors} errors; best valid {best.metrics['valid']:.3f}: {best.metrics['arch']}"
    )
    ray.shutdown()


if __name__ == "__main__":
    main()
