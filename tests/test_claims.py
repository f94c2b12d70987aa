"""The claim protocol of :class:`SharedHistory` under contention.

A mechanics test with a synthetic store (a locked dict of claims, with random delays between a
worker's write and its re-read): many workers that all rank the same few architectures first
must end with distinct claims. Eight PostgreSQL workers once completed an architecture twice:
the old protocol gave up after four rounds, and re-proposed only once when all of its
candidates were taken.
"""

from __future__ import annotations

import random
import threading
import time
import warnings

import pytest

from nas_meta_tune import get_space
from nas_meta_tune.search.shared import SharedHistory, TrialRecord

SPACE = get_space("nasbench_graph")
POOL = SPACE.sample(300, seed=0, unique=True)  # proposals in the order every worker ranks them


def _contend(seed: int, workers: int, batch: int) -> list[str]:
    store: dict[int, str] = {}
    lock = threading.Lock()
    rng = random.Random(seed)

    def jitter() -> None:
        time.sleep(rng.random() * 0.002)

    def records() -> list[TrialRecord]:
        jitter()
        with lock:
            items = list(store.items())
        return [TrialRecord(n, "running", {}, {}, None, c, {}, (n, c)) for n, c in items]

    def more(taken):  # the proposer again, the rivals' claims pending: the best others
        keys = {a.key for a in taken}
        return [a for a in POOL if a.key not in keys][:batch]

    got: dict[int, str] = {}

    def work(number: int) -> None:
        def write(claim: str) -> None:
            jitter()
            with lock:
                store[number] = claim

        jitter()
        got[number] = (
            SharedHistory(SPACE).claim(number, POOL[:batch], write, records, more=more).key
        )

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == workers
    return list(got.values())


@pytest.mark.parametrize(("workers", "batch"), [(8, 8), (8, 2), (16, 1)])
def test_contending_workers_end_with_distinct_claims(workers, batch):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # settling within the rounds, no warning
        for seed in range(15):
            keys = _contend(seed, workers, batch)
            assert len(set(keys)) == workers, (seed, keys)


def test_every_candidate_claimed_and_nothing_new_shares_the_last():
    """No ``more``: a trial whose every candidate is claimed by another shares the last one."""
    store = {1: POOL[0].to_string(), 2: POOL[1].to_string()}
    written = []

    def records():
        return [TrialRecord(n, "running", {}, {}, None, c, {}, (n, c)) for n, c in store.items()]

    got = SharedHistory(SPACE).claim(3, POOL[:2], written.append, records)
    assert got.key == POOL[1].key and written[-1] == POOL[1].to_string()
