"""Several worker processes on one Optuna study stored in a journal file, with heartbeats.

Each worker opens the same ``JournalStorage`` (a log file: no database server) and runs
``MetaNASSampler`` on NAS-Bench-Graph's Cora table. The objective is wrapped in
``TrialHeartbeat``, so if a worker dies mid-trial, another one fails its stale trial and retries it
(the journal has no heartbeat of its own). ``--kill-one`` SIGKILLs a worker mid-trial to show it.

    python examples/journal_workers.py --workers 3 --trials 10
    python examples/journal_workers.py --workers 3 --trials 10 --kill-one
    python examples/journal_workers.py --smoke-test
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

STUDY = "journal-example"


def _storage(path: str):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(path))


def worker(path: str, n_trials: int, seed: int, sleep: float) -> None:
    import optuna

    from nas_meta_tune import load_benchmark
    from nas_meta_tune.integrations.heartbeat import TrialHeartbeat
    from nas_meta_tune.samplers import MetaNASSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bench = load_benchmark("nasbench_graph")
    study = optuna.load_study(
        study_name=STUDY, storage=_storage(path), sampler=MetaNASSampler(bench.space, seed=seed)
    )

    def objective(trial: optuna.Trial) -> float:
        arch = bench.space.suggest(trial)
        trial.set_user_attr("pid", os.getpid())
        time.sleep(sleep)  # stands for training the architecture
        return bench.query(arch, "cora")

    heartbeat = TrialHeartbeat(interval=0.5, grace_period=2.0, max_retry=1)
    study.optimize(heartbeat.wrap(objective), n_trials=n_trials)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--trials", type=int, default=10, help="trials per worker")
    p.add_argument("--sleep", type=float, default=1.0, help="seconds each trial 'trains'")
    p.add_argument(
        "--kill-one", action="store_true", help="SIGKILL worker 0 in the middle of a trial"
    )
    p.add_argument("--journal", default=None, help="journal file (default: a temporary one)")
    p.add_argument("--smoke-test", action="store_true")
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.smoke_test:
        args.workers, args.trials, args.sleep, args.kill_one = 2, 5, 1.0, True
    if args.worker is not None:
        worker(args.journal, args.trials, args.worker, args.sleep)
        return

    import optuna

    path = args.journal or os.path.join(tempfile.mkdtemp(prefix="nmt-journal-"), "study.log")
    optuna.create_study(
        study_name=STUDY, storage=_storage(path), direction="maximize", load_if_exists=True
    )
    cmd = [
        sys.executable,
        __file__,
        "--journal",
        path,
        "--trials",
        str(args.trials),
        "--sleep",
        str(args.sleep),
    ]
    procs = [subprocess.Popen([*cmd, "--worker", str(i)]) for i in range(args.workers)]
    if args.kill_one:
        deadline = time.time() + 120
        killed = False
        while not killed and time.time() < deadline:
            for t in optuna.load_study(study_name=STUDY, storage=_storage(path)).get_trials(
                deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)
            ):
                if t.user_attrs.get("pid") == procs[0].pid:
                    procs[0].send_signal(signal.SIGKILL)
                    print(f"killed worker 0 (pid {procs[0].pid}) during trial {t.number}")
                    killed = True
                    break
            time.sleep(0.1)
    for proc in procs:
        proc.wait()
    study = optuna.load_study(study_name=STUDY, storage=_storage(path))
    states = [t.state.name for t in study.trials]
    print({s: states.count(s) for s in sorted(set(states))})
    retried = [t.number for t in study.trials if "failed_trial" in t.system_attrs]
    if retried:
        print(f"retries of failed trials: {retried}")
    print(f"best: {study.best_value:.2f}% with {study.best_trial.params}")


if __name__ == "__main__":
    main()
