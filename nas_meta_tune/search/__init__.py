"""Framework-neutral NAS proposal: adapt the meta-predictor, score candidates, acquire."""

from .proposer import ACQUISITIONS, MetaNASProposer, SpaceExhaustedError
from .session import SearchSession, combine_pruned
from .surrogate import TransferGPSurrogate

__all__ = [
    "ACQUISITIONS",
    "MetaNASProposer",
    "SearchSession",
    "SpaceExhaustedError",
    "TransferGPSurrogate",
    "combine_pruned",
]
