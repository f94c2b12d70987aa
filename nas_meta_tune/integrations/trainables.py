"""Ray Tune function trainables that train real networks.

Requires ``pip install 'nas-meta-tune[ray]'``.
"""

from __future__ import annotations

from typing import Any

from .._imports import require

__all__ = ["GNN_METRICS", "gnn_trainable", "SupernetTrainable", "supernet_resources"]

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
    ``op_4``, e.g. from ``ray_param_space(space)``) and:

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
            param_space={**ray_param_space(space), "dataset": "cora", "epochs": 100},
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


def _ray_trainable_base() -> type:
    require("ray.tune", feature="SupernetTrainable")
    from ray import tune

    return tune.Trainable


class SupernetTrainable(_ray_trainable_base()):  # type: ignore[misc]
    """Ray Tune class trainable: train a weight-sharing supernet (SPOS or DARTS), or one leaf of a
    few-shot split tree: the NAS-Bench-Graph cell on a Planetoid graph, or the NAS-Bench-201 cell on
    images.

    ``config`` keys (all optional but ``dataset``):

    * ``space``: ``"nasbench_graph"`` (default) or ``"nb201"``;
    * ``dataset``: for ``nasbench_graph`` ``"cora"`` / ``"citeseer"`` (``data_root``: where
      ``planetoid/`` lives); for ``nb201`` ``"digits"`` (scikit-learn's real 8x8 digits, offline) or
      a callable returning ``((x_train, y_train), (x_valid, y_valid))`` tensors (your CIFAR loader);
    * ``op_choices``: the leaf's allowed operations per cell node (4 lists for ``nasbench_graph``,
      6 for ``nb201``'s edges; default: the whole space);
    * ``strategy``: ``"spos"`` (default) or ``"darts"`` (first-order DARTS; ``arch_lr``, 3e-4);
    * ``hidden`` (64, ``nasbench_graph``), ``C`` (16), ``N`` (5) and ``batch_size`` (64) for
      ``nb201``; ``lr`` (0.005 for the GNN's Adam, 0.025 for NB201's SGD), ``seed`` (0),
      ``steps_per_iter`` (10 training steps per ``training_iteration``), ``probe_archs`` (16:
      sampled architectures of the leaf whose inherited-weight validation accuracy is reported);
    * ``device``: default CUDA when the trial was given a GPU, else CPU.

    Reports ``loss`` (mean training loss of the iteration), ``probe_valid_acc`` (mean over the
    probe architectures), ``probe_best_arch``, ``steps``, ``device`` and, with DARTS,
    ``derived_arch``. ``save_checkpoint`` / ``load_checkpoint``
    keep the supernet, its optimiser and the step counter, so a restored trial continues exactly.
    Request a GPU per trial with :func:`supernet_resources`.
    """

    def setup(self, config: dict[str, Any]) -> None:
        """Ray Tune hook: build the run (``oneshot.run.SupernetRun``) from ``config``."""
        from ..oneshot.run import RUN_HYPERPARAMETERS, SupernetRun

        space = str(config.get("space", "nasbench_graph"))
        tunable = RUN_HYPERPARAMETERS.get(space, ())
        self.run = SupernetRun(
            config["dataset"],
            space=space,
            strategy=str(config.get("strategy", "spos")),
            op_choices=config.get("op_choices"),
            seed=int(config.get("seed", 0)),
            probe_archs=int(config.get("probe_archs", 16)),
            device=config.get("device"),  # None: CUDA when the trial was given a GPU, else CPU
            data_root=config.get("data_root"),
            # the space's hyperparameters only: other keys are tuned alongside or for other spaces
            **{k: config[k] for k in tunable if config.get(k) is not None},
        )
        self.steps_per_iter = int(config.get("steps_per_iter", 10))

    def step(self) -> dict[str, Any]:
        """Ray Tune hook: train one iteration (``steps_per_iter`` steps); its metrics."""
        return self.run.iteration(self.steps_per_iter)

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        """Ray Tune hook: save the trainer's state as ``supernet.pt`` in ``checkpoint_dir``."""
        import os

        import torch

        torch.save(self.run.trainer.state_dict(), os.path.join(checkpoint_dir, "supernet.pt"))

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        """Ray Tune hook: restore the trainer's state from ``supernet.pt`` in ``checkpoint_dir``."""
        import os

        import torch

        state = torch.load(
            os.path.join(checkpoint_dir, "supernet.pt"),
            map_location=self.run.trainer.device,
            weights_only=True,
        )
        self.run.trainer.load_state_dict(state)


def supernet_resources(trainable: type = SupernetTrainable) -> Any:
    """``tune.with_resources`` for the supernet: one GPU per trial when the Ray cluster has GPUs,
    else one CPU (so the same job runs on a laptop and on a GPU cluster)."""
    import ray
    from ray import tune

    if not ray.is_initialized():  # the cluster decides the request: join or start it now
        ray.init(ignore_reinit_error=True)
    gpus = ray.cluster_resources().get("GPU", 0)
    return tune.with_resources(trainable, {"gpu": 1, "cpu": 1} if gpus >= 1 else {"cpu": 1})
