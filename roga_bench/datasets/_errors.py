"""The dataset error type and the one-time warning used for missing datasets."""

from __future__ import annotations

import warnings

__all__ = ["BadIndexError", "DatasetError", "DatasetWarning", "warn_once"]


class DatasetError(ValueError):
    """Bad dataset input; the message names the file, the key and what was expected."""


class BadIndexError(DatasetError):
    """An index file (``dataset_json/*.json``) that is missing, empty, truncated or malformed, or
    gives an environment split no usable videos: bad input (commands exit 2 before writing)."""


class DatasetWarning(UserWarning):
    """A dataset problem that was worked around (skipped frames, a missing target dataset)."""


_REPORTED: set[str] = set()


def warn_once(message: str) -> None:
    """Warn with ``message`` the first time it is seen in this process (one report per problem)."""
    if message in _REPORTED:
        return
    _REPORTED.add(message)
    warnings.warn(message, DatasetWarning, stacklevel=3)
