"""Exceptions: every error of the engine arrives as one of these, carrying its message (the file,
line, column, row or request field it is about)."""

from __future__ import annotations


class Error(Exception):
    """Base class of every pitstore error."""


class NotFound(Error, LookupError):
    """A named store, view, entity, feature or service does not exist."""


class Corruption(Error):
    """Stored bytes failed a checksum or did not decode; `Store.verify()` says more, and
    `pitstore repair` rebuilds a damaged index."""


class StoreIOError(Error, OSError):
    """The operating system failed a file or index operation (a full disk, a failed sync)."""


class InvalidArgument(Error, ValueError):
    """Malformed input: a bad row, a wrong type, a naive timestamp, an unknown option."""


class NotSupported(Error):
    """A file needs something this build cannot read (a Parquet type, an index format)."""


class Busy(Error):
    """Another process holds the store read-write, or this process has it open already."""


class AlreadyExists(Error):
    """The destination exists (a copy), or a definition clashes with an existing one."""


_BY_CODE = {1: NotFound, 2: Corruption, 3: StoreIOError, 4: InvalidArgument, 5: NotSupported, 6: Busy,
            7: AlreadyExists}


_BY_NAME = {"NotFound": NotFound, "Corruption": Corruption, "IOError": StoreIOError,
            "InvalidArgument": InvalidArgument, "NotSupported": NotSupported, "Busy": Busy,
            "AlreadyExists": AlreadyExists}


def from_stream_error(text: str) -> Error:
    """The exception for an engine error that reached Python through an Arrow stream, whose
    message is the engine's ``Code: message``."""
    name, sep, message = text.partition(": ")
    cls = _BY_NAME.get(name) if sep else None
    return cls(message) if cls else Error(text)


def error_class(code: int) -> type[Error]:
    """The exception class for an engine status code (used by the extension)."""
    return _BY_CODE.get(code, Error)
