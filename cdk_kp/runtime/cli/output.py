"""Writing the key phrases: JSON lines or CSV, to standard output or to a file written whole or
not at all."""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from cdk_kp.runtime.client import DocumentKeyPhrases

#: The columns of a CSV output: a row per key phrase, or per document Comprehend could not read.
CSV_HEADER = ["file", "line", "text", "score", "begin_offset", "end_offset", "error"]
#: Where results written without ``--out`` go, as messages name it.
STANDARD_OUTPUT = "standard output"


class ResultsNotWrittenError(Exception):
    """The results could not be written to ``where`` (a file, or standard output)."""

    def __init__(self, where: str, error: OSError) -> None:
        super().__init__(f"cannot write the results to {where}: {error.strerror or error}")
        self.where = where


class _Sink:
    """A text stream whose write errors are :class:`ResultsNotWrittenError` naming ``where``."""

    def __init__(self, stream: TextIO, where: str) -> None:
        self.stream = stream
        self.where = where

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as error:
            raise ResultsNotWrittenError(self.where, error) from error


def write_results(
    records: Iterable[DocumentKeyPhrases], out: Path | None, stdout: TextIO
) -> tuple[int, int]:
    """Write records as JSON lines, or CSV when ``out`` ends in ``.csv``: (documents, documents
    Comprehend could not analyse). A file is written whole or not at all: through a
    ``.partial`` file renamed at the end, removed if anything goes wrong. An OSError while
    writing is a :class:`ResultsNotWrittenError`."""
    if out is None:
        return _write_json_lines(records, _Sink(stdout, STANDARD_OUTPUT))
    partial = out.with_name(out.name + ".partial")
    try:
        handle = partial.open("w", newline="", encoding="utf-8")
    except OSError as error:
        raise ResultsNotWrittenError(str(out), error) from error
    try:
        try:
            sink = _Sink(handle, str(out))
            if out.suffix.lower() == ".csv":
                counts = _write_csv(records, sink)
            else:
                counts = _write_json_lines(records, sink)
        finally:
            try:
                handle.close()
            except OSError as error:
                raise ResultsNotWrittenError(str(out), error) from error
        try:
            partial.replace(out)
        except OSError as error:
            raise ResultsNotWrittenError(str(out), error) from error
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise
    return counts


def _write_json_lines(records: Iterable[DocumentKeyPhrases], sink: _Sink) -> tuple[int, int]:
    documents = failed = 0
    for record in records:
        documents += 1
        failed += record.error is not None
        sink.write(json.dumps(record.as_dict(), ensure_ascii=False) + "\n")
    return documents, failed


def _write_csv(records: Iterable[DocumentKeyPhrases], sink: _Sink) -> tuple[int, int]:
    documents = failed = 0
    writer = csv.writer(sink)
    writer.writerow(CSV_HEADER)
    for record in records:
        documents += 1
        failed += record.error is not None
        line = "" if record.line is None else record.line
        if record.error is not None:
            writer.writerow([record.file, line, "", "", "", "", record.error])
        for phrase in record.key_phrases:
            writer.writerow(
                [
                    record.file,
                    line,
                    phrase.text,
                    phrase.score,
                    phrase.begin_offset,
                    phrase.end_offset,
                    "",
                ]
            )
    return documents, failed
