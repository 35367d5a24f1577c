"""Reading a document file as a stream: checked as Comprehend would read it, counted, and cut
into parts that each fit one job. No AWS calls here, and nothing held but the line being read.

A file is read in chunks of :data:`CHUNK_BYTES`. Each line (LF, CR or CRLF ends one, as
Comprehend reads them) is decoded as UTF-8 on its own, which validates the whole file exactly
(neither byte occurs inside a multi-byte character), measured against Comprehend's
1 MB document limit, and counted for the cost estimate. A line longer than the limit ends the
read at once, so no more than about ``CHUNK_BYTES`` + 1 MB is ever held, whatever the file's
size.

For ``ONE_DOC_PER_LINE``, the scan also cuts the file, at line boundaries, into the fewest
parts that each fit one shard (at most ``max_bytes`` and ``max_documents`` lines), recording
each part's byte range and first line, and the file's SHA-256. A last part under a job's
500-byte minimum takes lines from the end of the part before. A file that fits one shard is one
part.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cdk_kp import contract

#: Bytes read at a time.
CHUNK_BYTES = 1 << 20
#: Characters Comprehend bills as one unit, and the fewest units it bills a document
#: (https://aws.amazon.com/comprehend/pricing/).
CHARACTERS_PER_UNIT = 100
MINIMUM_UNITS = 3


def units_of(characters: int) -> int:
    """The units Comprehend bills a document of ``characters`` characters."""
    return max(MINIMUM_UNITS, math.ceil(characters / CHARACTERS_PER_UNIT))


@dataclass(frozen=True, slots=True)
class Part:
    """A byte range of a file that goes to one job: whole lines, ``lines`` of them, the first
    being line ``first_line`` of the file (counted from 0, as Comprehend counts)."""

    offset: int
    size: int
    first_line: int
    lines: int
    units: int


@dataclass
class Scan:
    """What reading a file found: its size, documents, billed units, parts and SHA-256."""

    size: int = 0
    documents: int = 0
    units: int = 0
    parts: list[Part] = field(default_factory=list)
    sha256: str = ""


class UnusableFileError(Exception):
    """The file cannot be a Comprehend input; the message says why."""


@dataclass
class _Cutter:
    """Cuts a file, block of whole lines by block, into parts of at most ``max_bytes`` and
    ``max_documents`` lines. It keeps the sizes of the last lines of the part being cut (just
    enough to cover a job's 500-byte minimum), so that a last part under that minimum can take
    lines from the end of the one before (:meth:`finish`)."""

    max_bytes: int
    max_documents: int
    parts: list[Part] = field(default_factory=list)
    offset: int = 0
    size: int = 0
    lines: int = 0
    units: int = 0
    first_line: int = 0
    #: (size, units) of the current part's last lines, covering at least MIN_JOB_BYTES.
    tail: list[tuple[int, int]] = field(default_factory=list)
    previous_tail: list[tuple[int, int]] = field(default_factory=list)

    def add(self, sizes: list[int], units: list[int], number: int) -> None:
        """Add lines of ``sizes[i]`` bytes (their ends included), the first being line
        ``number`` of the file."""
        if (
            self.size + sum(sizes) <= self.max_bytes
            and self.lines + len(sizes) <= self.max_documents
        ):
            self.size += sum(sizes)
            self.lines += len(sizes)
            self.units += sum(units)
            self._remember(sizes, units)
            return
        for index, size in enumerate(sizes):
            if size > self.max_bytes:
                raise UnusableFileError(
                    f"line {number + index + 1} is {size:,} bytes, over the "
                    f"{self.max_bytes:,}-byte limit of one shard"
                )
            if self.lines and (
                self.size + size > self.max_bytes or self.lines + 1 > self.max_documents
            ):
                self.close()
                self.first_line = number + index
            self.size += size
            self.lines += 1
            self.units += units[index]
            self._remember([size], [units[index]])

    def _remember(self, sizes: list[int], units: list[int]) -> None:
        """Keep the last lines' sizes and units, as few as cover MIN_JOB_BYTES."""
        latest: list[tuple[int, int]] = []
        covered = 0
        for size, unit in zip(reversed(sizes), reversed(units), strict=True):
            if covered >= contract.MIN_JOB_BYTES:
                break
            latest.append((size, unit))
            covered += size
        for kept in reversed(self.tail):
            if covered >= contract.MIN_JOB_BYTES:
                break
            latest.append(kept)
            covered += kept[0]
        latest.reverse()
        self.tail = latest

    def close(self) -> None:
        if self.lines:
            part = Part(self.offset, self.size, self.first_line, self.lines, self.units)
            self.parts.append(part)
        self.offset += self.size
        self.size = self.lines = self.units = 0
        self.previous_tail, self.tail = self.tail, []

    def finish(self) -> list[Part]:
        """The parts, the last topped up to a job's minimum from the end of the one before,
        as far as that one keeps the minimum and the last stays within the limits."""
        before_tail = self.previous_tail  # the last lines of the part before the current one
        self.close()
        if len(self.parts) < 2 or self.parts[-1].size >= contract.MIN_JOB_BYTES:
            return self.parts
        before, last = self.parts[-2], self.parts[-1]
        for size, units in reversed(before_tail):
            if last.size >= contract.MIN_JOB_BYTES or before.size - size < contract.MIN_JOB_BYTES:
                break
            if last.size + size > self.max_bytes or last.lines + 1 > self.max_documents:
                break
            before = Part(
                before.offset,
                before.size - size,
                before.first_line,
                before.lines - 1,
                before.units - units,
            )
            last = Part(
                last.offset - size,
                last.size + size,
                last.first_line - 1,
                last.lines + 1,
                last.units + units,
            )
        self.parts[-2:] = [before, last]
        return self.parts


def scan_lines(chunks: Iterable[bytes], *, max_bytes: int, max_documents: int) -> Scan:
    """Scan a ``ONE_DOC_PER_LINE`` file given as chunks of bytes; raise
    :class:`UnusableFileError`."""
    cutter = _Cutter(max_bytes, max_documents)
    scan = Scan()
    digest = hashlib.sha256()
    pending = b""
    for chunk in chunks:
        digest.update(chunk)
        buffer = pending + chunk
        end = _last_line_end(buffer)
        pending = buffer[end:]
        if end:
            _add_block(cutter, scan, buffer[:end])
        if len(pending) > contract.MAX_DOCUMENT_BYTES + 1:
            # A line that long is refused now, before more of it is read.
            _line_texts([pending], [len(pending)], scan.documents, scan.size)
    if pending:
        _add_block(cutter, scan, pending)
    if not scan.units:
        raise UnusableFileError("empty")
    scan.parts = cutter.finish()
    scan.sha256 = digest.hexdigest()
    return scan


def _last_line_end(buffer: bytes) -> int:
    """Where the last whole line of ``buffer`` ends. A ``\r`` that is the buffer's last byte
    waits for the next chunk: it may be the first half of a CRLF."""
    end = max(buffer.rfind(b"\n"), buffer.rfind(b"\r")) + 1
    if end == len(buffer) and buffer.endswith(b"\r"):
        end = max(buffer.rfind(b"\n", 0, end - 1), buffer.rfind(b"\r", 0, end - 1)) + 1
    return end


#: A line and its end: LF, CR or CRLF, as Comprehend reads ONE_DOC_PER_LINE input ("Each line
#: of the file ... must end with a line feed (LF, \n), a carriage return (CR, \r), or both";
#: https://docs.aws.amazon.com/comprehend/latest/dg/class-inputs-async.html).
LINE = re.compile(rb"[^\r\n]*(?:\r\n|[\r\n])|[^\r\n]+")


def _lines_of(block: bytes) -> tuple[list[bytes], list[int]]:
    """The lines of ``block`` without their ends, and each one's size with its end."""
    if b"\r" not in block:
        lines = block.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        sizes = [len(line) + 1 for line in lines]
        if not block.endswith(b"\n"):
            sizes[-1] -= 1
        return lines, sizes
    pieces = LINE.findall(block)
    # A piece is a line and one end; the line holds no CR or LF, so rstrip takes just the end.
    return [piece.rstrip(b"\r\n") for piece in pieces], list(map(len, pieces))


def _add_block(cutter: _Cutter, scan: Scan, block: bytes) -> None:
    """Check, count and cut a block of whole lines (the last may lack its end)."""
    lines, sizes = _lines_of(block)
    units = [
        units_of(length) if length else 0
        for length in _character_counts(lines, sizes, scan.documents, scan.size)
    ]
    cutter.add(sizes, units, scan.documents)
    scan.size += len(block)
    scan.documents += len(lines)
    scan.units += sum(units)


def _character_counts(lines: list[bytes], sizes: list[int], number: int, offset: int) -> list[int]:
    """Each line's characters, blank lines as 0; :class:`UnusableFileError` for a line that is not
    UTF-8 or is over the document limit."""
    longest = max(map(len, lines))
    if longest <= contract.MAX_DOCUMENT_BYTES and all(line.isascii() for line in lines):
        texts: list[bytes] | list[str] = lines
    else:
        texts = _line_texts(lines, sizes, number, offset)
    # Blank by str.strip's rules on both paths, so a count does not depend on the chunking.
    return [0 if _blank(text) else len(text) for text in texts]


def _content(line: bytes) -> bytes:
    """The line without a last ``\r``: a line end still waiting to see if a ``\n`` follows."""
    return line[:-1] if line.endswith(b"\r") else line


#: The ASCII characters ``str.strip`` removes (``bytes.strip`` leaves ``\x1c`` to ``\x1f``).
ASCII_WHITESPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def _blank(text: bytes | str) -> bool:
    return not (text.strip(ASCII_WHITESPACE) if isinstance(text, bytes) else text.strip())


def _line_texts(lines: list[bytes], sizes: list[int], number: int, offset: int) -> list[str]:
    """The lines' texts; :class:`UnusableFileError` at the first that is not UTF-8 or over the
    document limit (``number`` and ``offset`` are the first line's number and byte offset,
    ``sizes`` each line's bytes with its end)."""
    texts = []
    for index, line in enumerate(lines):
        content = _content(line)
        if len(content) > contract.MAX_DOCUMENT_BYTES:
            raise UnusableFileError(
                f"line {number + index + 1} is over Comprehend's "
                f"{contract.MAX_DOCUMENT_BYTES:,}-byte document limit"
            )
        try:
            texts.append(content.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise UnusableFileError(f"not UTF-8 (byte {offset + error.start})") from error
        offset += sizes[index]
    return texts


def scan_file_document(data: bytes) -> Scan:
    """Scan a ``ONE_DOC_PER_FILE`` document (at most 1 MB, read whole); raise
    :class:`UnusableFileError`."""
    if not data.strip():
        raise UnusableFileError("empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnusableFileError(f"not UTF-8 (byte {error.start})") from error
    units = units_of(len(text))
    part = Part(0, len(data), 0, 1, units)
    return Scan(len(data), 1, units, [part], hashlib.sha256(data).hexdigest())
