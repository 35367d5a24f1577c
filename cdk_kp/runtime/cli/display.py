"""What ``cdk-kp`` says on stderr while it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from cdk_kp.runtime.client import BatchProgress, Progress


class Display:
    """Progress on stderr: one line rewritten in place on a terminal, a line a change elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self._last: str | None = None
        self._shards: dict[str, str] = {}

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

    def say(self, text: str) -> None:
        if self.live and self._last is not None:
            self.stream.write("\n")
            self._last = None
        self.stream.write(f"{text}\n")
        self.stream.flush()
