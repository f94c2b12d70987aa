"""Ray Tune function trainables that train real networks.

Requires ``pip install 'nas-meta-tune[ray]'``.
"""

from __future__ import annotations

from typing import Any

from .._imports import require

__all__ = ["GNN_METRICS", "gnn_trainable"]

#: what :func:`gnn_trainable` reports every epoch (accuracies in percent, losses, seconds)
GNN_METRICS = (
    "train_loss",
    "train_acc",
    "valid_loss",
    "valid_acc",
    "test_loss",
    "test_acc",
    "epoch_time",
)


def gnn_trainable(config: dict[str, Any]) -> None:
    """Ray Tune function trainable: train a NAS-Bench-Graph GNN on Cora or CiteSeer.

    ``config`` holds the parameters of the ``nasbench_graph`` space (``links``, ``op_1`` ..
    ``op_4``, e.g. from ``space.ray_space()``) and:

    * ``dataset``: ``"cora"`` or ``"citeseer"`` (required),
    * ``epochs``: training epochs (default: the NAS-Bench-Graph protocol's, 400),
    * ``seed``: seed of the run (default 0),
    * ``data_root``, ``cache_dir``, ``device``: optional, see
      :func:`~nas_meta_tune.oneshot.train_gnn`; ``space``: the space's name (default
      ``"nasbench_graph"``).

    Other keys (hyperparameters tuned alongside) are ignored. Every epoch it calls
    ``ray.tune.report`` with ``epoch`` (from 1), :data:`GNN_METRICS` and ``arch`` (the official
    string), so Ray's ``training_iteration`` equals the epoch and any Ray scheduler
    (ASHA, the package's learning-curve scheduler) can stop the trial between epochs.

    Example::

        from ray import tune
        from nas_meta_tune import get_space
        from nas_meta_tune.integrations.trainables import gnn_trainable

        space = get_space("nasbench_graph")
        tuner = tune.Tuner(
            gnn_trainable,
            param_space={**space.ray_space(), "dataset": "cora", "epochs": 100},
            tune_config=tune.TuneConfig(metric="valid_acc", mode="max", num_samples=20),
        )
    """
    require("ray.tune", feature="the GNN trainable")
    from ray import tune

    from ..oneshot.gnn import train_gnn
    from ..spaces import get_space

    if "dataset" not in config:
        raise ValueError("config must name the dataset, e.g. config['dataset'] = 'cora'.")
    space = get_space(config.get("space", "nasbench_graph"))
    arch = space.from_params(config)
    arch_str = arch.to_string()

    def report(epoch: int, metrics: dict[str, float]) -> bool:
        tune.report({"epoch": epoch, **{k: metrics[k] for k in GNN_METRICS}, "arch": arch_str})
        return False  # Ray stops the trial itself when its scheduler says so

    train_gnn(
        arch,
        str(config["dataset"]),
        epochs=None if config.get("epochs") is None else int(config["epochs"]),
        seed=int(config.get("seed", 0)),
        device=config.get("device"),
        callback=report,
        data_root=config.get("data_root"),
        cache_dir=config.get("cache_dir"),
    )
