"""Exceptions shared by the library."""

from __future__ import annotations

__all__ = ["DivergenceError", "require"]


class DivergenceError(RuntimeError):
    """A dynamics (ODE, SGD, GD) blew up: NaN/inf or runaway error.  The message names the likely
    cause, typically a learning rate above the stability bound."""


def require(ok: bool, name: str, value, allowed: str) -> None:
    """Raise ``ValueError`` naming the parameter, its value and the allowed range unless ``ok``."""
    if not ok:
        raise ValueError(f"{name}={value!r} is invalid: {allowed}")
