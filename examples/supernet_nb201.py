"""A NAS-Bench-201 supernet (SPOS or DARTS) on real images, on a GPU when there is one.

1. Loads images: scikit-learn's handwritten digits (real 8x8 images that ship with the package,
   so this runs offline), or your own loader with ``--data module:function`` returning
   ``((x_train, y_train), (x_valid, y_valid))`` tensors (e.g. CIFAR-10, NAS-Bench-201's dataset).
2. Trains the weight-sharing supernet of the NAS-Bench-201 cell with SPOS (one sampled path per
   minibatch) or first-order DARTS, on ``--device`` (default: CUDA when available, else CPU).
3. Ranks sampled cells by inherited-weight validation accuracy (DARTS: also derives its cell) and
   exports the best as a stand-alone network holding the supernet's weights.

With ``--ray`` the supernet instead trains as Ray Tune trials of ``SupernetTrainable``, one per
learning rate, each given a GPU when the cluster has them (connects to ``RAY_ADDRESS`` when set).

    python examples/supernet_nb201.py --strategy darts --steps 300
    python examples/supernet_nb201.py --ray --steps 200
    RAY_ADDRESS=auto python examples/supernet_nb201.py --ray --data mypkg.data:load_cifar10
    python examples/supernet_nb201.py --smoke-test
"""

from __future__ import annotations

import argparse
import importlib
import os
import time


def _loader(spec: str):
    if spec == "digits":
        return "digits"
    module, _, fn = spec.partition(":")
    if not fn:
        raise SystemExit(f"--data must be 'digits' or 'module:function', got {spec!r}.")
    return getattr(importlib.import_module(module), fn)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="digits", help="'digits' or module:function")
    p.add_argument("--strategy", default="spos", choices=["spos", "darts"])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--N", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--archs", type=int, default=50, help="sampled cells to rank")
    p.add_argument("--device", default=None)
    p.add_argument("--ray", action="store_true", help="train as Ray Tune trials (one per lr)")
    p.add_argument("--smoke-test", action="store_true")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.steps, args.C, args.N, args.archs, args.batch_size = 4, 4, 1, 4, 32
    data = _loader(args.data)
    if args.ray or args.smoke_test:  # the smoke test runs both ways
        run_ray(args, data)
        if not args.smoke_test:
            return

    import numpy as np

    from nas_meta_tune.oneshot import build_nb201_supernet, export_path, load_image_dataset

    train, valid = load_image_dataset(data)
    trainer = build_nb201_supernet(
        train,
        valid,
        strategy=args.strategy,
        C=args.C,
        N=args.N,
        batch_size=args.batch_size,
        device=args.device,
        seed=0,
    )
    t0 = time.perf_counter()
    losses = trainer.train(args.steps)
    wall = time.perf_counter() - t0
    print(
        f"{args.strategy} on {trainer.device}: {args.steps} steps in {wall:.1f} s "
        f"({args.steps * args.batch_size / wall:.0f} images/s), loss {np.mean(losses[:5]):.3f} -> "
        f"{np.mean(losses[-5:]):.3f}"
    )
    cells = [trainer.supernet.sample_arch(i) for i in range(args.archs)]
    if args.strategy == "darts":
        cells.append(trainer.derive())
        print("DARTS derived cell:", cells[-1].to_string())
    acc = trainer.rank(cells, "acc")
    best = cells[int(np.argmax(acc))]
    print(f"best of {len(cells)} cells by inherited weights: {best.to_string()} ({acc.max():.1f}%)")
    net = export_path(trainer.supernet, best)
    print(f"exported stand-alone network: {sum(p.numel() for p in net.parameters()):,} parameters")


def run_ray(args: argparse.Namespace, data) -> None:
    import ray
    from ray import tune

    from nas_meta_tune.integrations.trainables import supernet_resources

    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        ray.init(address=address, num_cpus=None if address else 2, include_dashboard=False)
    steps_per_iter = max(1, args.steps // 10)
    tuner = tune.Tuner(
        supernet_resources(),  # {"gpu": 1} per trial on a GPU cluster, else one CPU
        param_space={
            "space": "nb201",
            "dataset": data,
            "strategy": args.strategy,
            "C": args.C,
            "N": args.N,
            "batch_size": args.batch_size,
            "steps_per_iter": steps_per_iter,
            "probe_archs": 4 if args.smoke_test else 16,
            "lr": tune.grid_search([0.025] if args.smoke_test else [0.01, 0.025, 0.05]),
        },
        tune_config=tune.TuneConfig(metric="probe_valid_acc", mode="max"),
        run_config=tune.RunConfig(
            stop={"training_iteration": max(1, args.steps // steps_per_iter)},
            verbose=0,
            name=f"supernet_nb201_{os.getpid()}",
        ),
    )
    for r in sorted(tuner.fit(), key=lambda r: -r.metrics["probe_valid_acc"]):
        print(
            f"lr {r.config['lr']}: probe valid acc {r.metrics['probe_valid_acc']:.2f}% after "
            f"{r.metrics['steps']} steps on {r.metrics['device']}"
        )


if __name__ == "__main__":
    main()
