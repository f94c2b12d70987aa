"""Performance predictors: the meta-learned GCN (MP-NAS) and the baselines it is measured against.

Public API::

    from nas_meta_tune.predictors import MetaPredictor
    predictor = MetaPredictor.pretrained()          # shipped weights, SHA-256 checked
    adapted = predictor.adapt(archs, scores)        # few-shot adaptation; returns a new predictor
    adapted.predict(other_archs)                    # numpy array, higher = better

Meta-training your own: :func:`meta_train` over :class:`NASTask` objects (see
``examples/meta_train_own_tasks.py`` and ``nas-meta-tune meta-train``).
"""

from .baselines import (
    BaselinePredictor,
    LightGBMPredictor,
    RandomForestPredictor,
    StaticTransferPredictor,
    TransferRidgePredictor,
    few_shot_scores,
)
from .gcn import GCNConfig, GCNPredictor
from .meta import ALGORITHMS, MetaConfig, MetaTrainResult, meta_train, train_from_scratch
from .meta_predictor import MetaPredictor, available_pretrained
from .omni import OMNIPredictor
from .tasks import EVAL_TASKS, FAMILIES, NASTask, load_task, load_task_pool, normalize_scores

__all__ = [
    "ALGORITHMS",
    "BaselinePredictor",
    "EVAL_TASKS",
    "FAMILIES",
    "GCNConfig",
    "GCNPredictor",
    "LightGBMPredictor",
    "MetaConfig",
    "MetaPredictor",
    "OMNIPredictor",
    "MetaTrainResult",
    "NASTask",
    "RandomForestPredictor",
    "StaticTransferPredictor",
    "TransferRidgePredictor",
    "available_pretrained",
    "few_shot_scores",
    "load_task",
    "load_task_pool",
    "meta_train",
    "normalize_scores",
    "train_from_scratch",
]
