"""Renamed arguments that keep working for a while, with a DeprecationWarning (private)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ArgumentError

F = TypeVar("F", bound=Callable[..., Any])


def renamed_argument(old: str, new: str) -> Callable[[F], F]:
    """Accept the keyword ``old`` as ``new`` with a DeprecationWarning naming both.

    Examples
    --------
    >>> @renamed_argument("act", "activation")
    ... def f(activation):
    ...     return activation
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     f(act="erf"), caught[0].category.__name__
    ('erf', 'DeprecationWarning')
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            if old in kwargs:
                if new in kwargs:
                    raise ArgumentError(new, f"given twice: as {new!r} and as the old {old!r}")
                warnings.warn(
                    f"argument {old!r} of {fn.__name__} is now called {new!r}; the old name "
                    "will be removed",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return call  # type: ignore[return-value]

    return decorate
