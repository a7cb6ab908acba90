"""The errors xorlab raises for bad input or an unusable environment.

Every one is an `XorlabError` whose message is one line that says what is wrong, where (file,
line, key or folder) and what is allowed. The command-line boundary (`xorlab.cli`) prints that
line and exits with status 2; from Python, catch `XorlabError`.
"""

from __future__ import annotations


class XorlabError(Exception):
    """Bad input or environment: the message is one line for people."""


class SpecError(XorlabError, ValueError):
    """An invalid sweep spec or command-line value."""


class ResultsError(XorlabError):
    """A results folder or table that cannot be read, or is not xorlab's."""


class FolderLocked(XorlabError):
    """Another live sweep is writing to this results folder."""


class BackendError(XorlabError):
    """The execution backend cannot run the sweep: e.g. a Dask scheduler that is unreachable,
    has no workers, or another xorlab version."""
