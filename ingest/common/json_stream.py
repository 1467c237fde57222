"""One JSON document read from disk a chunk at a time: the records of a big array are decoded one by one, so memory
holds one chunk and one record, never the document (a 410 MB Stripe list parsed whole took GBs).

The structure around the records (the top-level object's members, the array's commas) is walked here; each value
is decoded by the standard library's C scanner (``json.JSONDecoder.raw_decode``), non-integer numbers as Decimal,
as ``ingest.common.text.load_json`` does. A malformed document fails with the message ``load_json`` gives for the
whole text (the scanner's message, line, column and character offset of the whole document), and text that is not
UTF-8 with ``decode_text``'s message: ``check_utf8`` reads the file once before it is parsed, in bounded chunks.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from ingest.common.errors import MalformedFileError

CHUNK_CHARS = 1 << 20
# A single value (one record) larger than this is refused rather than held: memory stays bounded by it. Vendor
# records are kilobytes; a record this big is a broken export.
MAX_VALUE_CHARS = 64 << 20
_BOM = codecs.BOM_UTF8
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# A decode error this close to the end of what is buffered may be a token cut by the chunk boundary ("tru", "1.5e",
# "-Infinit"): read on and decode again. Further back it is the document's own error.
_CUT_TOKEN_CHARS = 16
_DECODER = json.JSONDecoder(parse_float=Decimal)
_FLOAT_DECODER = json.JSONDecoder()


def check_utf8(path: Path, label: str, chunk_bytes: int = CHUNK_CHARS) -> None:
    """Fail as ``decode_text`` does for the whole file, reading it in bounded chunks: the offset is counted after a
    byte-order mark (as the utf-8-sig codec counts it) and the byte shown is the file's byte at that offset."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        if handle.read(len(_BOM)) != _BOM:
            handle.seek(0)
        decoded = 0  # bytes handed to the decoder before this chunk
        while True:
            chunk = handle.read(chunk_bytes)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                position = decoded - len(pending) + exc.start
                handle.seek(position)
                raise MalformedFileError(
                    f"{label} is not UTF-8 text: byte {position} ({handle.read(1)[0]:#04x})"
                ) from None
            if not chunk:
                return
            decoded += len(chunk)


class JsonStream:
    """A JSON document walked from its first value: ``kind`` of the top-level value, then ``members`` of an object
    or ``items`` of an array, each value decoded whole by ``value`` or walked again by ``items``/``skip``.

    Use it as a context manager; ``finish`` checks nothing but whitespace follows the document."""

    def __init__(
        self,
        path: Path,
        label: str,
        chunk_chars: int | None = None,
        max_value_chars: int | None = None,
        *,
        exact_decimals: bool = True,
        universal_newlines: bool = False,
        error: type[Exception] = MalformedFileError,
    ):
        """``exact_decimals``: non-integer numbers as Decimal (``load_json``), else float (``json.loads``).
        ``universal_newlines``: positions counted in text read with newline translation (``Path.read_text``), as
        the document's whole-text parse counted them. ``error``: the class of the file errors raised."""
        self.label = label
        # Read from the module when not given, so a test can shrink them for every stream a parser opens.
        self.chunk_chars = chunk_chars or CHUNK_CHARS
        self.max_value_chars = max_value_chars or MAX_VALUE_CHARS
        self._decoder = _DECODER if exact_decimals else _FLOAT_DECODER
        self._file_error = error
        newline = None if universal_newlines else ""
        self._handle = open(path, encoding="utf-8-sig", newline=newline)  # noqa: SIM115 - closed by __exit__
        self._buffer = ""
        self._pos = 0  # the next unread character of the buffer
        self._offset = 0  # characters of the document before the buffer
        self._lines = 0  # newlines before the buffer
        self._last_newline = -1  # document index of the last newline before the buffer
        self._eof = False

    def __enter__(self) -> JsonStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._handle.close()

    # -- buffer ---------------------------------------------------------------------------------------------------

    def _fill(self, at_least: int = 0) -> bool:
        """Read on (at least ``at_least`` more characters when there are); False at the end of the file."""
        if self._eof:
            return False
        dropped = self._buffer[: self._pos]
        if dropped:
            newlines = dropped.count("\n")
            if newlines:
                self._lines += newlines
                self._last_newline = self._offset + dropped.rindex("\n")
            self._offset += len(dropped)
            self._buffer = self._buffer[self._pos :]
            self._pos = 0
        chunk = self._handle.read(max(self.chunk_chars, at_least))
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def _error(self, message: str, pos: int) -> Exception:
        """``load_json``'s error for the whole document, from a position in the buffer."""
        index = self._offset + pos
        newlines = self._buffer.count("\n", 0, pos)
        line = self._lines + newlines + 1
        last_newline = self._offset + self._buffer.rindex("\n", 0, pos) if newlines else self._last_newline
        column = index - last_newline
        return self._file_error(
            f"malformed JSON in {self.label}: {message} at line {line} column {column} (char {index})"
        )

    def _peek(self) -> str:
        """The next character that is not whitespace ('' at the end of the file), not consumed."""
        while True:
            self._pos = _WHITESPACE.match(self._buffer, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if not self._fill():
                return ""

    # -- values ---------------------------------------------------------------------------------------------------

    def kind(self) -> str:
        """'object', 'array' or 'value' (anything else) for the value that comes next; '' at the end."""
        char = self._peek()
        return {"{": "object", "[": "array", "": ""}.get(char, "value")

    def value(self) -> Any:
        """Decode the next value whole."""
        self._peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self._buffer) - _CUT_TOKEN_CHARS or exc.msg.startswith("Unterminated string")
                index = self._offset + exc.pos  # reading on may move the buffer's start
                if cut and self._read_more():
                    continue
                raise self._error(exc.msg, index - self._offset) from None
            if end == len(self._buffer) and self._read_more():
                continue  # a number may go on in the next chunk
            self._pos = end
            return value

    def _read_more(self) -> bool:
        held = len(self._buffer) - self._pos
        if held > self.max_value_chars:
            raise self._file_error(
                f"{self.label}: a JSON value at char {self._offset + self._pos} is larger than "
                f"{self.max_value_chars // (1 << 20)} MiB; not read"
            )
        return self._fill(at_least=held)  # doubling what is held: a big value is decoded O(log n) times

    def items(self) -> Iterator[Any]:
        """The elements of the array that comes next, decoded one at a time."""
        self._expect("[")
        if self._peek() == "]":
            self._pos += 1
            return
        while True:
            yield self.value()
            char = self._peek()
            self._pos += 1
            if char == "]":
                return
            if char != ",":
                raise self._error("Expecting ',' delimiter", self._pos - 1)
            # After a comma the scanner wants a value; "]" there is its "Expecting value".

    def members(self) -> Iterator[str]:
        """The keys of the object that comes next; after each key the caller reads its value (``value``, ``items``
        or ``skip``) before asking for the next key."""
        self._expect("{")
        char = self._peek()
        if char == "}":
            self._pos += 1
            return
        while True:
            if char != '"':
                raise self._error("Expecting property name enclosed in double quotes", self._pos)
            key = self.value()
            if self._peek() != ":":
                raise self._error("Expecting ':' delimiter", self._pos)
            self._pos += 1
            if self._peek() == "":
                raise self._error("Expecting value", self._pos)
            yield key
            char = self._peek()
            self._pos += 1
            if char == "}":
                return
            if char != ",":
                raise self._error("Expecting ',' delimiter", self._pos - 1)
            char = self._peek()

    def skip(self) -> None:
        """Read past the next value, holding at most one element of it at a time when it is an array."""
        if self.kind() == "array":
            for _ in self.items():
                pass
        else:
            self.value()

    def _expect(self, char: str) -> None:
        if self._peek() != char:  # the callers asked kind() first: a bug, not the file's problem
            raise ValueError(f"{self.label}: expected {char!r} at char {self._offset + self._pos}")
        self._pos += 1

    def finish(self) -> None:
        """Nothing but whitespace may follow the document (``load_json``'s "Extra data")."""
        if self._peek() != "":
            raise self._error("Extra data", self._pos)


__all__ = ["CHUNK_CHARS", "MAX_VALUE_CHARS", "JsonStream", "check_utf8"]
