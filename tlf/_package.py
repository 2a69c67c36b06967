"""Reproducible Office packages: a fixed build time and byte-identical zip files.

python-docx and openpyxl both write their zip entries with the wall-clock time, and
openpyxl also stamps "modified" with it. The renderers therefore let those libraries
save into memory, then copy every entry into a new zip whose entries all carry the
same fixed timestamp, permissions and compression — so the same content gives the
same bytes on every run.

The build time is ``SOURCE_DATE_EPOCH`` (https://reproducible-builds.org/specs/
source-date-epoch/) when set, otherwise :data:`DEFAULT_EPOCH`.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from trialflow.io import source_date_epoch

__all__ = ["DEFAULT_EPOCH", "build_time", "read_zip", "strip_xml_illegal", "write_zip"]

#: 1980-01-01T00:00:00Z, the earliest time a zip entry can carry: without
#: SOURCE_DATE_EPOCH the document properties and the zip entries then agree.
DEFAULT_EPOCH = 315_532_800

# Zip stores local time fields from 1980 to 2107 only.
_ZIP_MIN = (1980, 1, 1, 0, 0, 0)
_ZIP_MAX = (2107, 12, 31, 23, 59, 58)

# Characters XML 1.0 cannot carry at all (C0 controls other than tab, line feed and
# carriage return; lone surrogates; U+FFFE/U+FFFF).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def strip_xml_illegal(text: str) -> str:
    """``text`` without the characters an Office file cannot store.

    They cannot be printed either, so a cell holding one (a stray control character in
    a CRF free-text field) is rendered without it rather than failing the whole output.
    """
    return _XML_ILLEGAL.sub("", text)


def build_time() -> datetime:
    """The time stamped into documents: ``SOURCE_DATE_EPOCH`` or :data:`DEFAULT_EPOCH`.

    Returns
    -------
    datetime.datetime
        A naive UTC datetime (python-docx and openpyxl both expect naive UTC).

    Raises
    ------
    TrialflowError
        When ``SOURCE_DATE_EPOCH`` is set but is not a non-negative whole number of
        seconds (see :func:`trialflow.io.source_date_epoch`).
    """
    epoch = source_date_epoch(DEFAULT_EPOCH)
    return datetime.fromtimestamp(epoch, tz=UTC).replace(tzinfo=None)


def _zip_date_time(when: datetime) -> tuple[int, int, int, int, int, int]:
    t = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    return min(max(t, _ZIP_MIN), _ZIP_MAX)


def write_zip(path: Path, members: Iterable[tuple[str, Iterable[bytes]]],
              when: datetime) -> None:
    """Write a zip file whose entries carry nothing but their names and contents.

    Parameters
    ----------
    path : pathlib.Path
        The file to write (the renderers pass a temporary file of ``write_atomic``).
    members : iterable of (name, chunks)
        Entry names in the order to store them, each with its content as an iterable
        of byte strings; chunks are streamed, so a large part never has to sit in
        memory whole.
    when : datetime.datetime
        The timestamp of every entry (clamped to the years zip can store).
    """
    date_time = _zip_date_time(when)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, chunks in members:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            # ZipInfo's defaults depend on the platform; pin them so the bytes do not.
            info.create_system = 3
            info.external_attr = 0o644 << 16
            with zf.open(info, "w") as out:
                for chunk in chunks:
                    out.write(chunk)


def read_zip(data: bytes) -> list[tuple[str, bytes]]:
    """The entries of an in-memory zip, in stored order, as ``(name, content)``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]
