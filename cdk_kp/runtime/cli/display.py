"""What ``cdk-kp`` says on stderr while it runs."""

from __future__ import annotations

import time
from pathlib import PurePath
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from cdk_kp.runtime.client import BatchProgress, Progress
    from cdk_kp.runtime.transfers import SendProgress

#: Seconds between two redraws of the upload's progress bar.
REDRAW_SECONDS = 0.2


class Display:
    """Progress on stderr: one line rewritten in place on a terminal, a line a change elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self._last: str | None = None
        self._shards: dict[str, str] = {}
        self._drawn = 0.0

    def progress(self, progress: Progress) -> None:
        minutes, seconds = divmod(int(progress.elapsed), 60)
        text = f"{progress.status:<10} {minutes:d}:{seconds:02d} elapsed"
        if self.live:
            self.stream.write(f"\r{text}")
            self.stream.flush()
        elif progress.status != self._last:
            self.stream.write(f"{text}\n")
        self._last = progress.status

    def batch(self, progress: BatchProgress) -> None:
        """A batch's progress: a summary line (rewritten in place on a terminal) and, when not
        on a terminal, a line for each shard whose status changed."""
        minutes, seconds = divmod(int(progress.elapsed), 60)
        counts = ", ".join(f"{n} {status}" for status, n in sorted(progress.counts().items()))
        text = (
            f"{progress.status:<10} {minutes:d}:{seconds:02d} elapsed, "
            f"{len(progress.shards)} shards: {counts}"
        )
        if self.live:
            self.stream.write(f"\r{text}\033[K")
            self.stream.flush()
            self._last = text
            return
        for shard in progress.shards:
            if self._shards.get(shard.input_prefix) != shard.status:
                self._shards[shard.input_prefix] = shard.status
                job = f" job {shard.job_id}" if shard.job_id else ""
                self.stream.write(f"  {shard.input_prefix} {shard.status}{job}\n")
        if text.split(" ", 1)[0] + counts != self._last:
            self.stream.write(f"{text}\n")
        self._last = text.split(" ", 1)[0] + counts
        self.stream.flush()

    def upload(self, progress: SendProgress) -> None:
        """An upload's progress bar, on a terminal only (elsewhere the command says a line at
        its start and its end): files, bytes, rate and time left, redrawn at most every
        :data:`REDRAW_SECONDS` and when the last file is done."""
        now = time.monotonic()
        last = progress.files_done == progress.files
        if not self.live or (now - self._drawn < REDRAW_SECONDS and not last):
            return
        self._drawn = now
        self.stream.write(f"\r{upload_bar(progress)}\033[K")
        self.stream.flush()
        self._last = "upload"

    def say(self, text: str) -> None:
        if self.live and self._last is not None:
            self.stream.write("\n")
            self._last = None
        self.stream.write(f"{text}\n")
        self.stream.flush()


def upload_bar(progress: SendProgress, width: int = 24) -> str:
    """``[#####-----] 120/400 files, 1.2/4.0 MB, 0.8 MB/s, 0:03 left``."""
    share = progress.bytes_done / progress.size if progress.size else 1.0
    filled = round(share * width)
    left = progress.seconds_left
    remaining = "" if left is None else f", {int(left) // 60:d}:{int(left) % 60:02d} left"
    return (
        f"[{'#' * filled}{'-' * (width - filled)}] {progress.files_done:,}/{progress.files:,} "
        f"files, {_mb(progress.bytes_done)}/{_mb(progress.size)} MB, "
        f"{_mb(round(progress.rate))} MB/s{remaining}"
    )


def _mb(size: int) -> str:
    return f"{size / 1_000_000:,.1f}"


def shown_path(path: object) -> str:
    """A path as text any terminal takes: bytes of a name that are not UTF-8 as ``\\xNN``."""
    text = path.as_posix() if isinstance(path, PurePath) else str(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
