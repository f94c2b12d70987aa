"""Framework-neutral NAS proposal: adapt the meta-predictor, score candidates, acquire."""

from .proposer import ACQUISITIONS, MetaNASProposer, SpaceExhaustedError

__all__ = ["ACQUISITIONS", "MetaNASProposer", "SpaceExhaustedError"]
