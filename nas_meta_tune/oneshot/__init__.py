"""One-shot NAS: weight-sharing supernets, their training strategies and few-shot splitting.

* ``supernet.py``: the :class:`Supernet` protocol (a base class with hooks) every supernet implements;
* ``graph_supernet.py``: :class:`GNNSupernet`, the graph supernet of NAS-Bench-Graph
  (:func:`build_supernet` on a Planetoid graph);
* ``nb201_supernet.py``: :class:`NB201Supernet` (:func:`build_nb201_supernet` on images,
  :func:`export_path`);
* ``feeds.py``: what a trainer trains on (:class:`GraphFeed` full batch, :class:`ImageFeed`
  minibatches);
* ``spos.py`` / ``darts.py``: :class:`SPOSTrainer` and :class:`DARTSTrainer`, over any supernet;
* ``fewshot.py``: :class:`SplitTree` and the split metrics, over any supernet;
* ``run.py``: :class:`SupernetRun`, one run tracked by probe architectures (what the Ray Tune
  trainable and the Optuna objective run).

The stand-alone networks (:func:`build_gnn`, :func:`train_gnn`, :func:`build_nb201`, the data
loaders) live in :mod:`nas_meta_tune.networks` and are re-exported here.

>>> from nas_meta_tune.oneshot import train_gnn
>>> run = train_gnn("0,0,1,2|gcn,gat,skip,fc", "cora", epochs=5)  # doctest: +SKIP
>>> len(run["valid_acc"])  # doctest: +SKIP
5
"""

from __future__ import annotations

from ..networks import (
    CACHE_ENV_VAR,
    IMAGE_DATASETS,
    NB201_OPS,
    PLANETOID_NAMES,
    PROTOCOLS,
    GNNProtocol,
    NASBenchGraphNet,
    NB201Cell,
    NB201Net,
    build_gnn,
    build_nb201,
    canonical_cell,
    load_digits,
    load_image_dataset,
    load_planetoid,
    train_gnn,
)
from .darts import DARTSTrainer
from .feeds import DataFeed, GraphFeed, ImageFeed, OptimSettings
from .fewshot import (
    SplitNode,
    SplitTree,
    gradient_matching_distance,
    partition_ops,
    proxy_distance,
    split_distance,
)
from .graph_supernet import GNNSupernet, build_supernet
from .nb201_supernet import (
    NB201DARTSTrainer,
    NB201SPOSTrainer,
    NB201Supernet,
    build_nb201_supernet,
    export_path,
)
from .run import SupernetRun
from .spos import SPOSTrainer
from .supernet import PathModel, Supernet

__all__ = [
    "CACHE_ENV_VAR",
    "PLANETOID_NAMES",
    "PROTOCOLS",
    "GNNProtocol",
    "NASBenchGraphNet",
    "build_gnn",
    "canonical_cell",
    "load_planetoid",
    "train_gnn",
    "NB201_OPS",
    "NB201Cell",
    "NB201Net",
    "build_nb201",
    "NB201Supernet",
    "NB201SPOSTrainer",
    "NB201DARTSTrainer",
    "build_nb201_supernet",
    "export_path",
    "IMAGE_DATASETS",
    "load_digits",
    "load_image_dataset",
    "Supernet",
    "PathModel",
    "DataFeed",
    "GraphFeed",
    "ImageFeed",
    "OptimSettings",
    "SupernetRun",
    "GNNSupernet",
    "SPOSTrainer",
    "DARTSTrainer",
    "build_supernet",
    "SplitNode",
    "SplitTree",
    "gradient_matching_distance",
    "partition_ops",
    "proxy_distance",
    "split_distance",
]
