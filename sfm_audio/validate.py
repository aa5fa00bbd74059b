"""Checks of option values, shared by every module: one wording, one place.

Each check returns the value in its canonical Python type or raises
:class:`~sfm_audio.ParameterError` whose message names the parameter and its value
(``n_fft=0 must be a positive integer``) and whose ``param`` attribute names the parameter, so
the command line can say ``--n-fft`` instead.
"""

from __future__ import annotations

import math

import numpy as np

from ._errors import ParameterError

__all__ = [
    "is_integer",
    "is_bool",
    "positive_int",
    "int_at_least",
    "positive_float",
    "finite_float",
    "nonnegative_float",
    "validate_amin",
    "validate_power",
]


def is_integer(value: object) -> bool:
    """True for Python and numpy integers, False for bools (which are ints in Python)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_bool(value: object, name: str) -> bool:
    """``value`` as a bool; only True, False and numpy bools are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name}={value!r} must be True or False", param=name)
    return bool(value)


def positive_int(value: object, name: str) -> int:
    """``value`` as an int ≥ 1."""
    return int_at_least(value, name, 1, "a positive integer")


def int_at_least(value: object, name: str, minimum: int, what: str | None = None) -> int:
    """``value`` as an int ≥ ``minimum``."""
    if not is_integer(value) or value < minimum:  # type: ignore[operator]
        what = what or f"an integer >= {minimum}"
        raise ParameterError(f"{name}={value!r} must be {what}", param=name)
    return int(value)  # type: ignore[arg-type]


def _real(value: object) -> float | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def finite_float(value: object, name: str) -> float:
    """``value`` as a finite float."""
    number = _real(value)
    if number is None:
        raise ParameterError(f"{name}={value!r} must be a finite number", param=name)
    return number


def positive_float(value: object, name: str) -> float:
    """``value`` as a finite float > 0."""
    number = _real(value)
    if number is None or number <= 0:
        raise ParameterError(f"{name}={value!r} must be a positive finite number", param=name)
    return number


def nonnegative_float(value: object, name: str) -> float:
    """``value`` as a finite float ≥ 0."""
    number = _real(value)
    if number is None or number < 0:
        raise ParameterError(f"{name}={value!r} must be a non-negative finite number", param=name)
    return number


def validate_amin(amin: object) -> float:
    """``amin`` as a float > 0 (the floor of the power spectrum)."""
    return positive_float(amin, "amin")


def validate_power(power: object) -> float:
    """``power`` as a float > 0 (the exponent of the magnitude spectrum)."""
    return positive_float(power, "power")
