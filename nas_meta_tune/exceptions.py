"""Exceptions raised by nas-meta-tune.

Every error a user can provoke with bad input is a subclass of a built-in exception
(``ValueError``, ``KeyError``, ``FileNotFoundError``) so that generic handlers keep working,
and carries enough context to say what was wrong.
"""

from __future__ import annotations

__all__ = [
    "NASMetaTuneError",
    "InvalidArchitectureError",
    "SpaceMismatchError",
    "UnknownNameError",
    "DataNotFoundError",
    "CorruptWeightsError",
]


class NASMetaTuneError(Exception):
    """Base class of all errors raised on purpose by nas-meta-tune."""


class InvalidArchitectureError(NASMetaTuneError, ValueError):
    """An architecture, configuration or architecture string is not valid in its space.

    Args:
        message: What is wrong (unknown operation, missing edge, disconnected cell, ...).
        space: Name of the search space the input was checked against, if known.
    """

    def __init__(self, message: str, *, space: str | None = None) -> None:
        self.space = space
        prefix = f"[{space}] " if space else ""
        super().__init__(prefix + message)


class SpaceMismatchError(InvalidArchitectureError):
    """An architecture or configuration belongs to a different search space than the one it is
    used with (a kind of :class:`InvalidArchitectureError`, so one ``except`` catches all bad input)."""


class UnknownNameError(NASMetaTuneError, KeyError):
    """A name (space, benchmark, task, metric) is not registered.

    Unlike a plain ``KeyError`` its message is printed as-is, with the valid choices.
    """

    def __init__(self, kind: str, name: object, choices: list[str] | tuple[str, ...]) -> None:
        self.kind = kind
        self.name = name
        self.choices = tuple(choices)
        super().__init__(f"Unknown {kind} {name!r}; choose one of: {', '.join(map(str, choices))}.")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class DataNotFoundError(NASMetaTuneError, FileNotFoundError):
    """A benchmark data file is missing.

    The message names the file, every place it was looked for and how to obtain it.
    """


class CorruptWeightsError(NASMetaTuneError, ValueError):
    """A predictor weights file is truncated, altered, from another format version or does not
    match its recorded SHA-256. Nothing is loaded when this is raised.

    Args:
        message: What is wrong.
        path: The file, if known.
    """

    def __init__(self, message: str, *, path: object = None) -> None:
        self.path = path
        prefix = f"{path}: " if path is not None else ""
        super().__init__(prefix + message)


class PredictorFailedError(NASMetaTuneError, RuntimeError):
    """The predictor failed on several proposals in a row: the search would otherwise have
    become random search without anyone noticing. The last failure is chained as the cause."""
