"""Few-shot NAS as Ray Tune trials: split the NAS-Bench-Graph supernet, train every leaf as a trial.

1. A SPOS supernet of the NAS-Bench-Graph cell is warmed up on Cora, then split by a few-shot split
   tree (constant policy, branching 2, gradient matching) into sub-supernets (leaves).
2. Every leaf trains from scratch (the split tree's "leaves train from scratch" option) as one Ray
   Tune trial of ``SupernetTrainable`` (one GPU per trial when the cluster has GPUs, else one CPU;
   connects to ``RAY_ADDRESS`` when set).
3. The leaf trials' probe accuracies are printed: the best leaf is where to search next.

    python examples/supernet_ray.py --depth 1 --iterations 20
    RAY_ADDRESS=auto python examples/supernet_ray.py --depth 2
    python examples/supernet_ray.py --smoke-test
"""

from __future__ import annotations

import argparse
import os


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="cora", choices=["cora", "citeseer"])
    p.add_argument("--depth", type=int, default=1)
    p.add_argument("--warmup", type=int, default=100, help="SPOS steps before each split")
    p.add_argument("--iterations", type=int, default=20, help="training iterations per leaf trial")
    p.add_argument("--steps-per-iter", type=int, default=10)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--data-root", default=None)
    p.add_argument("--smoke-test", action="store_true")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.depth, args.warmup, args.iterations, args.steps_per_iter, args.hidden = 1, 2, 1, 1, 16

    import ray
    from ray import tune

    from nas_meta_tune.integrations.trainables import supernet_resources
    from nas_meta_tune.oneshot import SplitTree, build_supernet

    root = build_supernet(args.dataset, hidden=args.hidden, data_root=args.data_root)
    tree = SplitTree(
        root,
        branching=2,
        depth=args.depth,
        warmup_steps=args.warmup,
        num_contexts=2 if args.smoke_test else 4,
    ).build()
    print(tree.describe())
    leaves = [[list(ops) for ops in leaf.op_choices] for leaf in tree.leaves]

    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        ray.init(address=address, num_cpus=None if address else 2, include_dashboard=False)
    tuner = tune.Tuner(
        supernet_resources(),
        param_space={
            "dataset": args.dataset,
            "hidden": args.hidden,
            "steps_per_iter": args.steps_per_iter,
            "probe_archs": 4 if args.smoke_test else 16,
            "data_root": args.data_root,
            "op_choices": tune.grid_search(leaves),
        },
        tune_config=tune.TuneConfig(metric="probe_valid_acc", mode="max"),
        run_config=tune.RunConfig(
            stop={"training_iteration": args.iterations}, verbose=0, name=f"supernet_{os.getpid()}"
        ),
    )
    results = tuner.fit()
    for r in sorted(results, key=lambda r: -r.metrics["probe_valid_acc"]):
        print(
            f"leaf {r.config['op_choices']}: probe valid acc {r.metrics['probe_valid_acc']:.2f}% after {r.metrics['steps']} steps on {r.metrics['device']}"
        )


if __name__ == "__main__":
    main()
