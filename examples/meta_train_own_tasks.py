"""Meta-train the MP-NAS predictor on your own NAS tasks, then adapt it to a new one.

A *task* is a list of evaluated architectures of one search space and their scores (higher is
better, any units: targets are rank-normalised per task). Here the tasks are real
TransNAS-Bench-101 micro tables; with your own data build ``NASTask(name, archs, scores)`` from
``space.to_arch(...)`` / ``space.from_string(...)`` objects in the same way.

    python examples/meta_train_own_tasks.py --held-out jigsaw --steps 600
    python examples/meta_train_own_tasks.py --smoke-test
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from nas_meta_tune.predictors import MetaConfig, MetaPredictor, NASTask, load_task, meta_train


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--family", default="transnas_micro")
    p.add_argument(
        "--tasks",
        nargs="*",
        default=[
            "class_scene",
            "class_object",
            "room_layout",
            "segmentsemantic",
            "normal",
            "autoencoder",
            "jigsaw",
        ],
    )
    p.add_argument("--held-out", default="jigsaw")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--k", type=int, default=20, help="evaluated architectures of the new task")
    p.add_argument("--data-root", default=None)
    p.add_argument("--smoke-test", action="store_true", help="a few meta-training steps only")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.steps, args.tasks = 20, ["class_scene", "normal", "jigsaw"]

    # 1. your tasks: (architectures, scores) per task; here real benchmark tables
    tasks: list[NASTask] = [load_task(f"{args.family}/{t}", args.data_root) for t in args.tasks]
    train = [t for t in tasks if not t.name.endswith("/" + args.held_out)]
    new = next(t for t in tasks if t.name.endswith("/" + args.held_out))
    print(f"meta-training BOIL on {[t.name for t in train]} ({args.steps} steps)")

    # 2. meta-train and wrap it as a MetaPredictor (save/load like the shipped weights)
    config = MetaConfig(algorithm="boil", steps=args.steps, adapt_steps=20)
    result = meta_train(
        train, config=config, seed=0, callback=lambda s, loss: print(f"  step {s}: loss {loss:.3f}")
    )
    predictor = MetaPredictor.from_result(result)
    with tempfile.TemporaryDirectory() as tmp:
        predictor = MetaPredictor.load(predictor.save(Path(tmp) / "my_predictor.pt"))

    # 3. a new task: evaluate K architectures, adapt, rank the rest
    rng = np.random.default_rng(0)
    idx = rng.choice(len(new), args.k, replace=False)
    rest = np.setdiff1d(np.arange(len(new)), idx)
    adapted = predictor.adapt([new.archs[i] for i in idx], new.scores[idx])
    others = [new.archs[i] for i in rest]
    rho0 = spearmanr(predictor.predict(others), new.scores[rest]).statistic
    rho = spearmanr(adapted.predict(others), new.scores[rest]).statistic
    print(
        f"{new.name}: Spearman zero-shot {rho0:.3f}, adapted on K={args.k}: {rho:.3f} ({len(rest)} archs ranked)"
    )
    best = rest[np.argsort(-adapted.predict(others))[:5]]
    print("top-5 predicted:", [new.archs[i].to_string() for i in best])


if __name__ == "__main__":
    main()
