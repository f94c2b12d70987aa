"""Framework-neutral NAS proposal: adapt the meta-predictor, score candidates, acquire; the one
ask/tell session the framework adapters translate to, and its score policy."""

from .multi import ParetoProposer
from .policy import combine_pruned, trial_score
from .proposer import ACQUISITIONS, MetaNASProposer, SpaceExhaustedError
from .session import SearchSession
from .surrogate import TransferGPSurrogate

__all__ = [
    "ACQUISITIONS",
    "MetaNASProposer",
    "ParetoProposer",
    "SearchSession",
    "SpaceExhaustedError",
    "TransferGPSurrogate",
    "combine_pruned",
    "trial_score",
]
