"""Device choice shared by everything that runs torch models (proxies, GNN training, supernets)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["resolve_device", "seeded_rng"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a ``torch.device``; ``None`` picks CUDA when it is available, else the CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@contextmanager
def seeded_rng(seed: int, device: str | torch.device | None = None) -> Iterator[None]:
    """Run a block with torch's CPU generator, and ``device``'s when it is a CUDA device, seeded
    to ``seed``; both are restored on exit.

    Unlike ``torch.manual_seed`` (which also reseeds every GPU's generator, lazily when CUDA is not
    initialised yet) no other generator is touched, so a user's CUDA random streams are left alone.
    """
    dev = torch.device(device) if device is not None else torch.device("cpu")
    devices: list[int] = []
    if dev.type == "cuda":
        devices = [dev.index if dev.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)
        for index in devices:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield
