"""Exceptions of the noark library: one root class, so callers can catch everything at once."""


class NoarkError(Exception):
    """Base class of every error the noark library raises on purpose."""


class NoarkWriteError(NoarkError, ValueError):
    """The data cannot be written as valid Noark 5 (wrong nesting, missing value, bad file path)."""


class PackageReadError(NoarkError):
    """A package path cannot be read at all (missing, not a folder or tar, unreadable)."""
