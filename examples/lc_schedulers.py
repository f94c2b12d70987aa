"""Learning-curve early stopping in Optuna and Ray Tune, on the LCBench surrogate.

Tunes the 7 MLP hyperparameters of LCBench (YAHPO's surrogate of real LCBench runs: per-epoch
validation accuracy, 52 epochs) on one OpenML task. Every trial reports its accuracy each epoch:

* ``--framework optuna``: TPE + ``LCExtrapolationPruner`` (``--method pfn``: the same pruner with
  the shipped LC-PFN extrapolator; ``--method rank``: the pruner with ``model=LCRankModel()``);
* ``--framework ray``: Ray Tune random search + ``LCExtrapolationScheduler`` (its ``model`` as for Optuna);
  connects to a running cluster when ``RAY_ADDRESS`` is set, else starts a local one.

Prints the epochs used against running every trial to the end, and the best accuracy found.

    python examples/lc_schedulers.py --framework optuna --trials 60
    python examples/lc_schedulers.py --framework ray --trials 40 --task 7593
    python examples/lc_schedulers.py --method pfn
    python examples/lc_schedulers.py --smoke-test
"""

from __future__ import annotations

import argparse
import os

from nas_meta_tune.benchmarks.lcbench import LCBenchSurrogate


def run_optuna(
    bench: LCBenchSurrogate, task: str, trials: int, method: str, seed: int
) -> tuple[int, float]:
    import optuna

    from nas_meta_tune.curves import LCRankModel
    from nas_meta_tune.schedulers import LCExtrapolationPruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    epochs = int(bench.epochs[-1])
    pruner = (
        LCExtrapolationPruner(model=LCRankModel(), max_step=epochs, min_step=5, min_completed=3)
        if method == "rank"
        else LCExtrapolationPruner(
            max_step=epochs,
            min_step=5,
            value_range=(0, 100),
            method="pfn" if method == "pfn" else "parametric",
        )
    )
    used = []

    def objective(trial: optuna.Trial) -> float:
        config = {}
        for name, (lo, hi, log, is_int) in bench.bounds.items():
            config[name] = (
                trial.suggest_int(name, int(lo), int(hi), log=log)
                if is_int
                else trial.suggest_float(name, lo, hi, log=log)
            )
        steps, values = bench.curve(task, config)
        for step, acc in zip(steps, values):
            trial.report(float(acc), int(step))
            if trial.should_prune():
                used.append(int(step))
                raise optuna.TrialPruned()
        used.append(int(steps[-1]))
        return float(values[-1])

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner
    )
    study.optimize(objective, n_trials=trials)
    return sum(used), study.best_value


def run_ray(
    bench: LCBenchSurrogate, task: str, trials: int, method: str, seed: int
) -> tuple[int, float]:
    import ray
    from ray import tune

    from nas_meta_tune.curves import LCRankModel
    from nas_meta_tune.schedulers import LCExtrapolationScheduler

    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS"),
            num_cpus=None if os.environ.get("RAY_ADDRESS") else 2,
            include_dashboard=False,
        )
    epochs = int(bench.epochs[-1])
    configs = bench.sample_configs(trials, seed=seed)
    data_root = str(bench.folder.parent.parent)  # <root>/yahpo_lcbench_surrogate/lcbench

    def trainable(config: dict) -> None:
        from nas_meta_tune.benchmarks.lcbench import LCBenchSurrogate

        b = LCBenchSurrogate(config["data_root"])
        steps, values = b.curve(config["task"], config["hp"])
        for step, acc in zip(steps, values):
            tune.report({"valid_acc": float(acc), "epoch": int(step)})

    scheduler = (
        LCExtrapolationScheduler(
            model=LCRankModel(), max_t=epochs, time_attr="epoch", grace_period=5, min_completed=3
        )
        if method == "rank"
        else LCExtrapolationScheduler(
            max_t=epochs,
            time_attr="epoch",
            grace_period=5,
            value_range=(0, 100),
            method="pfn" if method == "pfn" else "parametric",
        )
    )
    tuner = tune.Tuner(
        trainable,
        param_space={"hp": tune.grid_search(configs), "task": task, "data_root": data_root},
        tune_config=tune.TuneConfig(
            metric="valid_acc", mode="max", scheduler=scheduler, max_concurrent_trials=2
        ),
        run_config=tune.RunConfig(verbose=0, name=f"lc_schedulers_{os.getpid()}"),
    )
    results = tuner.fit()
    used = sum(int(r.metrics["epoch"]) for r in results)
    return used, max(float(r.metrics["valid_acc"]) for r in results)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--framework", default="optuna", choices=["optuna", "ray"])
    p.add_argument("--method", default="extrapolation", choices=["extrapolation", "pfn", "rank"])
    p.add_argument("--task", default="3945", help="OpenML task id of LCBench")
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=None, help="folder holding yahpo_lcbench_surrogate/")
    p.add_argument("--smoke-test", action="store_true", help="a few trials with each framework")
    args = p.parse_args(argv)
    bench = LCBenchSurrogate(args.data_root)
    runs = (
        [
            ("optuna", "extrapolation"),
            ("optuna", "pfn"),
            ("optuna", "rank"),
            ("ray", "extrapolation"),
        ]
        if args.smoke_test
        else [(args.framework, args.method)]
    )
    trials = 8 if args.smoke_test else args.trials
    for framework, method in runs:
        if framework == "optuna":
            used, best = run_optuna(bench, args.task, trials, method, args.seed)
        else:
            used, best = run_ray(bench, args.task, trials, method, args.seed)
        full = trials * int(bench.epochs[-1])
        print(
            f"{framework}/{method}: {trials} trials used {used} of {full} epochs ({full / used:.1f}x fewer); best valid accuracy {best:.2f}%"
        )


if __name__ == "__main__":
    main()
