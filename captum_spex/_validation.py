"""Declared parameter constraints and the one checker that enforces them.

Every public entry point declares its parameters as a table of constraints (as
scikit-learn's ``_parameter_constraints``) and checks them with :func:`check_params`,
which names the real caller in one message shape::

    The 'n_samples' parameter of SpexInteractions.attribute must be an int >= 1; got 0.

A wrong *type* raises ``TypeError``, a wrong *value* ``ValueError``. Each constraint also
lists values it rejects (:meth:`Constraint.invalid_values`), which the bad-input test
suites draw from, so the declared table and the tests cannot drift apart.

Examples
--------
>>> from captum_spex._validation import Int, Options, check_params
>>> check_params("f", {"n": Int(1), "mode": Options(("a", "b"))}, n=3, mode="a")
{'n': 3, 'mode': 'a'}
>>> check_params("f", {"n": Int(1)}, n=0)
Traceback (most recent call last):
...
ValueError: The 'n' parameter of f must be an int >= 1; got 0.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "Constraint",
    "Int",
    "Real",
    "Bool",
    "Options",
    "PathLike",
    "NonEmptyStr",
    "IsCallable",
    "HasMethod",
    "Instance",
    "Optional",
    "check_param",
    "check_params",
    "param_error",
]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def param_error(
    caller: str, name: str, must: str, value: Any, kind: type[Exception] = ValueError
) -> Exception:
    """The error of one bad parameter, in the package's one message shape."""
    got = _show(value)
    if kind is TypeError:
        got = f"{got} of type {type(value).__name__}"
    return kind(f"The '{name}' parameter of {caller} must be {must}; got {got}.")


class Constraint:
    """A declared rule for one parameter: check (and normalise) a value, describe the
    rule, and give values that break it (for the tests)."""

    def check(self, value: Any, name: str, caller: str) -> Any:
        """Return the (normalised) value, or raise ``TypeError``/``ValueError``."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def invalid_values(self) -> list[Any]:
        """Values this constraint rejects (each one must raise)."""
        return []

    def fail(self, value: Any, name: str, caller: str, kind: type[Exception]) -> Exception:
        return param_error(caller, name, self.describe(), value, kind)


class Int(Constraint):
    """An integer (not a bool) in ``[low, high]``; NumPy integers become ``int``."""

    def __init__(self, low: int | None = None, high: int | None = None) -> None:
        self.low, self.high = low, high

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"an int in [{self.low}, {self.high}]"
        if self.low is not None:
            return f"an int >= {self.low}"
        if self.high is not None:
            return f"an int <= {self.high}"
        return "an int"

    def check(self, value: Any, name: str, caller: str) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self.fail(value, name, caller, TypeError)
        value = int(value)
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise self.fail(value, name, caller, ValueError)
        return value

    def invalid_values(self) -> list[Any]:
        bad: list[Any] = [1.5, "3", True, None, [1]]
        if self.low is not None:
            bad += [self.low - 1, self.low - 1000]
        if self.high is not None:
            bad += [self.high + 1]
        return bad


class Real(Constraint):
    """A finite real number (not a bool) in ``[low, high]``."""

    def __init__(self, low: float | None = None, high: float | None = None) -> None:
        self.low, self.high = low, high

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"a finite number in [{self.low}, {self.high}]"
        if self.low is not None:
            return f"a finite number >= {self.low}"
        return "a finite number"

    def check(self, value: Any, name: str, caller: str) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.fail(value, name, caller, TypeError)
        value = float(value)
        if (
            not math.isfinite(value)
            or (self.low is not None and value < self.low)
            or (self.high is not None and value > self.high)
        ):
            raise self.fail(value, name, caller, ValueError)
        return value

    def invalid_values(self) -> list[Any]:
        bad: list[Any] = ["1", True, None, float("nan"), float("inf")]
        if self.low is not None:
            bad.append(self.low - 1.0)
        if self.high is not None:
            bad.append(self.high + 1.0)
        return bad


class Bool(Constraint):
    """A ``bool`` (NumPy bools accepted)."""

    def describe(self) -> str:
        return "a bool"

    def check(self, value: Any, name: str, caller: str) -> bool:
        if type(value).__name__ == "bool_" or isinstance(value, bool):
            return bool(value)
        raise self.fail(value, name, caller, TypeError)

    def invalid_values(self) -> list[Any]:
        return [1, 0, "yes", None]


class Options(Constraint):
    """One of a fixed set of strings; ``values`` may be a callable returning them (a
    registry read at check time)."""

    def __init__(self, values: Sequence[str] | Callable[[], Sequence[str]]) -> None:
        self._values = values

    @property
    def values(self) -> tuple[str, ...]:
        values = self._values() if callable(self._values) else self._values
        return tuple(values)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def check(self, value: Any, name: str, caller: str) -> str:
        if not isinstance(value, str):
            raise self.fail(value, name, caller, TypeError)
        if value not in self.values:
            raise self.fail(value, name, caller, ValueError)
        return value

    def invalid_values(self) -> list[Any]:
        return ["not-an-option", 1, None, self.values[0].upper() + "_"]


class PathLike(Constraint):
    """A non-empty ``str`` or ``os.PathLike`` file path."""

    def describe(self) -> str:
        return "a non-empty path (str or os.PathLike)"

    def check(self, value: Any, name: str, caller: str) -> Any:
        if not isinstance(value, (str, os.PathLike)):
            raise self.fail(value, name, caller, TypeError)
        if not os.fspath(value):
            raise self.fail(value, name, caller, ValueError)
        return value

    def invalid_values(self) -> list[Any]:
        return [1, b"", 3.0]


class NonEmptyStr(Constraint):
    """A non-empty ``str``."""

    def describe(self) -> str:
        return "a non-empty str"

    def check(self, value: Any, name: str, caller: str) -> str:
        if not isinstance(value, str):
            raise self.fail(value, name, caller, TypeError)
        if not value:
            raise self.fail(value, name, caller, ValueError)
        return value

    def invalid_values(self) -> list[Any]:
        return ["", 1, b"key"]


class IsCallable(Constraint):
    """Anything callable."""

    def describe(self) -> str:
        return "callable"

    def check(self, value: Any, name: str, caller: str) -> Any:
        if not callable(value):
            raise self.fail(value, name, caller, TypeError)
        return value

    def invalid_values(self) -> list[Any]:
        return [1, "f", [len]]


class HasMethod(Constraint):
    """An object with a callable method ``method`` (duck typing, e.g. an executor)."""

    def __init__(self, method: str, what: str) -> None:
        self.method, self.what = method, what

    def describe(self) -> str:
        return f"{self.what} (an object with {self.method}())"

    def check(self, value: Any, name: str, caller: str) -> Any:
        if not callable(getattr(value, self.method, None)):
            raise self.fail(value, name, caller, TypeError)
        return value

    def invalid_values(self) -> list[Any]:
        return [1, "pool", object()]


class Instance(Constraint):
    """An instance of one of ``types`` (described as ``what``)."""

    def __init__(self, types: type | tuple[type, ...], what: str) -> None:
        self.types, self.what = types, what

    def describe(self) -> str:
        return self.what

    def check(self, value: Any, name: str, caller: str) -> Any:
        if not isinstance(value, self.types):
            raise self.fail(value, name, caller, TypeError)
        return value

    def invalid_values(self) -> list[Any]:
        return [object(), 1.5]


class Optional(Constraint):
    """``None`` or a value that meets ``inner``."""

    def __init__(self, inner: Constraint) -> None:
        self.inner = inner

    def describe(self) -> str:
        return f"{self.inner.describe()} or None"

    def check(self, value: Any, name: str, caller: str) -> Any:
        if value is None:
            return None
        try:
            return self.inner.check(value, name, caller)
        except (TypeError, ValueError) as exc:
            raise self.fail(value, name, caller, type(exc)) from None

    def invalid_values(self) -> list[Any]:
        return [v for v in self.inner.invalid_values() if v is not None]


def check_param(value: Any, name: str, constraint: Constraint, caller: str) -> Any:
    """Check one parameter; return its normalised value."""
    return constraint.check(value, name, caller)


def check_params(caller: str, constraints: Mapping[str, Constraint], **values: Any) -> dict:
    """Check every given parameter against its declared constraint, in the order given.

    Parameters
    ----------
    caller : str
        The public name the user called (``"spex"``, ``"SpexInteractions.attribute"``,
        ...); every message names it.
    constraints : mapping of str to Constraint
        The declared table; a value whose name is not in it is a programming error.
    **values
        The parameters to check.

    Returns
    -------
    dict
        The normalised values, by name.
    """
    return {name: constraints[name].check(value, name, caller) for name, value in values.items()}
