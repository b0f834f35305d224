"""Errors and warnings of the data layer (picklable, so worker processes can raise them)."""

from __future__ import annotations

from ..records import RecordWarning


class DataError(ValueError):
    """A data set is missing, malformed or unreadable; the message names the file or folder."""


class UnsafeArchiveError(DataError):
    """An archive member would escape the target folder, is a link or a device, or is absolute."""


class ChecksumError(DataError):
    """A downloaded or local file does not have the published checksum."""


# A cache entry was corrupt or stale and is being rebuilt: the one warning of every verified record.
CacheWarning = RecordWarning
