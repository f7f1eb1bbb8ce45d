"""The exception hierarchy of fieldnn.

Every error raised for bad input names the offending argument and, where there is a finite
list, the accepted values. All classes derive from the built-in ``ValueError`` or
``TypeError``, so ``except ValueError`` in user code keeps working.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "CheckpointError",
    "DiagramError",
    "FieldnnError",
    "ShapeError",
    "UnknownNameError",
    "UnsupportedError",
]


class FieldnnError(Exception):
    """Base class of every error raised by fieldnn."""


class ArgumentError(FieldnnError, ValueError):
    """A public function received a value it cannot use.

    Parameters
    ----------
    argument : str
        Name of the offending argument, as the user wrote it.
    message : str
        What is wrong and what would be accepted.
    """

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        super().__init__(f"argument {argument!r}: {message}")


class ArgumentTypeError(FieldnnError, TypeError):
    """A public function received an argument of the wrong type."""

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        super().__init__(f"argument {argument!r}: {message}")


class ShapeError(ArgumentError):
    """An array argument has the wrong number of dimensions or the wrong extent."""


class UnknownNameError(ArgumentError):
    """A name (activation, network kind, option) is not one of the known ones."""

    def __init__(self, argument: str, name: object, known: list[str] | tuple[str, ...]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(argument, f"unknown value {name!r}; known: {', '.join(self.known)}")


class UnsupportedError(ArgumentError):
    """The request is well formed but the chosen exact path cannot compute it."""


class DiagramError(ArgumentError):
    """Bad input to the symbolic engine (theory, points, order, species labels)."""


class CheckpointError(FieldnnError, ValueError):
    """A checkpoint file is unreadable or was written with different arguments."""
