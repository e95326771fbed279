"""One ranked term of :meth:`Interactions.top <captum_spex.Interactions.top>`: a
``(term, value)`` pair that also carries the term's feature names and its standard error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = ["TopTerm"]


class _TopTermFields(NamedTuple):
    term: tuple[int, ...]
    value: Any


class TopTerm(_TopTermFields):
    """One entry of :meth:`Interactions.top`: unpacks as ``(term, value)``.

    Attributes
    ----------
    term : tuple of int
        Ascending feature ids; ``()`` is the constant.
    value : float or numpy.ndarray
        The index value (a 1-D array over outputs for a multi-output ranking).
    names : tuple of str or None
        The feature names of ``term`` when the explanation has ``feature_names``, else None.
    stderr : float or numpy.ndarray or None
        The value's standard error when the explanation carries standard errors (see
        :meth:`Interactions.index_standard_errors`), else None.

    Examples
    --------
    >>> t = TopTerm((0, 2), 1.5, names=("age", "income"), stderr=0.5)
    >>> term, value = t
    >>> term, value, t.names, t.label
    ((0, 2), 1.5, ('age', 'income'), '(age, income)')
    >>> t.interval, t.covers_zero
    ((0.52, 2.48), False)
    >>> TopTerm((0, 2), 1.5).label, TopTerm((0, 2), 1.5).interval
    ('(0, 2)', None)

    The repr shows the names beside the ids when they are known:

    >>> t
    TopTerm(term=(0, 2), names=('age', 'income'), value=1.5)
    >>> TopTerm((0, 2), 1.5)
    TopTerm(term=(0, 2), value=1.5)
    """

    # no __slots__: an instance carries names and error beside the two fields
    names: tuple[str, ...] | None = None
    stderr: Any = None

    def __new__(
        cls,
        term: tuple[int, ...],
        value: Any,
        names: Sequence[str] | None = None,
        stderr: Any = None,
    ) -> TopTerm:
        self = super().__new__(cls, term, value)
        if names is not None:
            self.names = tuple(names)
        self.stderr = stderr
        return self

    def __repr__(self) -> str:
        names = "" if self.names is None else f"names={self.names!r}, "
        return f"{type(self).__name__}(term={self.term!r}, {names}value={self.value!r})"

    @property
    def interval(self) -> tuple[Any, Any] | None:
        """The approximate 95% interval ``value ± 1.96 stderr`` (None without an error)."""
        if self.stderr is None:
            return None
        half = 1.96 * np.asarray(self.stderr)
        lo, hi = np.asarray(self.value) - half, np.asarray(self.value) + half
        return (float(lo), float(hi)) if lo.ndim == 0 else (lo, hi)

    @property
    def covers_zero(self) -> Any:
        """Whether the 95% interval holds 0 (the term is not told apart from zero at this
        budget); None without an error, an array for a multi-output value."""
        bounds = self.interval
        if bounds is None:
            return None
        covers = (bounds[0] <= 0) & (bounds[1] >= 0)
        return bool(covers) if np.ndim(covers) == 0 else covers

    @property
    def label(self) -> str:
        """The term as ``"(age, income)"``: feature names when known, else the ids."""
        parts = self.names if self.names is not None else [str(i) for i in self.term]
        return "(" + ", ".join(parts) + ")"
