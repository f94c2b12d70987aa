"""Library logger: ``nas_meta_tune`` logs through the standard ``logging`` module only."""

from __future__ import annotations

import logging

__all__ = ["get_logger", "set_verbosity"]

_ROOT = "nas_meta_tune"
logging.getLogger(_ROOT).addHandler(logging.NullHandler())


def get_logger(name: str) -> logging.Logger:
    """Logger for a module of the package (``name`` is usually ``__name__``)."""
    if not name.startswith(_ROOT):
        name = f"{_ROOT}.{name}"
    return logging.getLogger(name)


def set_verbosity(level: int | str) -> None:
    """Set the level of the package's root logger (e.g. ``logging.INFO`` or ``"DEBUG"``)."""
    logging.getLogger(_ROOT).setLevel(level)
