"""The client at corpus scale: upload time, parallel against one at a time, and the memory that
planning a big file takes.

(a) Upload. 400 files of 2 KB go through ``KeyPhrasesClient.upload_plan`` into a local S3
endpoint (moto's server on 127.0.0.1) that holds every request 30 ms before answering, as a
distant Region would. The same plan is sent with the default concurrency and, as the baseline,
one file at a time (``concurrency=1``: what the client did before, one ``upload_file`` after
another). Target: parallel takes at most 1/5 of the baseline's time.

(b) Memory. ``cdk-kp plan FILE --format ONE_DOC_PER_LINE --json`` runs as a child process on a
line-per-document file of 100 MB and one of 1.5 GB; its peak resident memory is the child's
``ru_maxrss``. The baseline is what planning did before streaming: the 100 MB file read whole,
decoded and split into lines. Targets: under 300 MB for both, the larger at most 50 MB above the
smaller.

(c) Many files. ``cdk-kp plan FOLDER --format ONE_DOC_PER_FILE --json`` runs as a child process
on a folder of 20,000 files of 600 bytes and one of 200,000; the smaller is the baseline. A plan
keeps what it knows of each file on disk (its ledger), so ten times the files should not take
ten times the memory. Targets: under 300 MB for both, the larger at most 50 MB above the
smaller.

(d) Upload memory. A child process plans and uploads, as a batch, 24 files of 7.9 MB (each one
PutObject) and one of 60 MB (a multipart upload) through the slow local endpoint: once one file
at a time, the baseline, and once 16 at once; its peak RSS each time. Request bodies are
windows on the files, read 64 KiB at a time, so sending more at once should not take much
more memory. Targets: under 300 MB for both, 16 at once at most 50 MB above one at a time.

    .venv/bin/python -m benchmarks.upload               # from the repository root
    .venv/bin/python -m benchmarks.upload --small       # 10 MB and 150 MB files, 2,000 and
                                                        # 20,000 files instead
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FILES = 400
FILE_BYTES = 2_000
LATENCY_SECONDS = 0.030
MANY_FILES = (20_000, 200_000)
MANY_FILE_BYTES = 600
LINE = b"Seattle and Tacoma are cities in Washington State, on the shores of Puget Sound.\n"
MB = 1_000_000


def serve_slow_s3() -> None:
    """Serve moto's S3 on 127.0.0.1, each answer 30 ms late; print the port, serve until
    killed. Run as its own process, so the server does not share the client's interpreter."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    inner = DomainDispatcherApplication(create_backend_app)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        time.sleep(LATENCY_SECONDS)
        return inner(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


@contextmanager
def slow_s3() -> Iterator[str]:
    """The URL of a slow S3 server (:func:`serve_slow_s3`) running while the block runs."""
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.upload", "--serve"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield f"http://127.0.0.1:{int(server.stdout.readline())}"
    finally:
        server.kill()
        server.wait()


def upload_times(folder: Path) -> tuple[float, float, int]:
    """Seconds to upload ``folder`` one at a time and in parallel, and the default concurrency."""
    import boto3

    from cdk_kp.runtime.client import KeyPhrasesClient
    from cdk_kp.runtime.transfers import DEFAULT_CONCURRENCY

    with slow_s3() as url:
        os.environ["AWS_ENDPOINT_URL_S3"] = url
        # Fake credentials for the local endpoint; nothing leaves 127.0.0.1.
        session = boto3.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
        )
        session.client("s3").create_bucket(Bucket="bench-input")
        client = KeyPhrasesClient(input_bucket="bench-input", session=session)
        plan = client.plan_upload([folder], input_format="ONE_DOC_PER_FILE")
        times = {}
        for name, concurrency in (("serial", 1), ("parallel", DEFAULT_CONCURRENCY)):
            started = time.perf_counter()
            report = client.upload_plan(plan, batch=f"bench-{name}", concurrency=concurrency)
            times[name] = time.perf_counter() - started
            assert len(report.uploaded) == FILES
            assert report.already_uploaded == 0
    return times["serial"], times["parallel"], DEFAULT_CONCURRENCY


def write_lines(path: Path, size: int) -> None:
    block = LINE * (1_048_576 // len(LINE))
    with path.open("wb") as stream:
        while stream.tell() < size:
            stream.write(block)


#: Run in the measured child: the command, then its peak resident memory (VmHWM, which exec
#: resets, unlike the ru_maxrss a forked child inherits) on stderr.
MEASURED = """
import sys
try:
    {body}
finally:
    status = open("/proc/self/status").read()
    print("VmHWM", status.split("VmHWM:")[1].split()[0], file=sys.stderr)
"""


def peak_rss_mb(body: str) -> tuple[float, float]:
    """The peak resident memory of a child running ``body``, in MB, and its wall time."""
    started = time.perf_counter()
    found = subprocess.run(
        [sys.executable, "-c", MEASURED.format(body=body)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    kilobytes = int(found.stderr.rsplit("VmHWM", 1)[1].split()[0])
    return kilobytes * 1024 / MB, time.perf_counter() - started


def write_many(folder: Path, files: int) -> None:
    """``files`` documents of :data:`MANY_FILE_BYTES` bytes, 1,000 to a folder."""
    body = (LINE * (MANY_FILE_BYTES // len(LINE) + 1))[:MANY_FILE_BYTES]
    for number in range(files):
        if number % 1_000 == 0:
            sub = folder / f"part-{number // 1_000:04d}"
            sub.mkdir(parents=True)
        (sub / f"doc-{number:06d}.txt").write_bytes(body)


def plan_body(path: Path, input_format: str = "ONE_DOC_PER_LINE") -> str:
    """``cdk-kp plan PATH --format FORMAT --json``, as the child's body."""
    argv = ["plan", str(path), "--format", input_format, "--json"]
    return f"from cdk_kp.runtime.cli import main; assert main({argv!r}) == 0"


#: What planning did before it streamed: the file read whole, decoded, split into lines.
def whole_read_body(path: Path) -> str:
    return f"data = open({str(path)!r}, 'rb').read(); len(data.decode().splitlines())"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="10 MB and 150 MB files")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    if parser.parse_args().serve:
        serve_slow_s3()
        return
    small_run = parser.parse_args().small
    sizes = (10 * MB, 150 * MB) if small_run else (100 * MB, 1_500 * MB)
    counts = (MANY_FILES[0] // 10, MANY_FILES[1] // 10) if small_run else MANY_FILES
    with tempfile.TemporaryDirectory(prefix="cdk-kp-bench-") as temporary:
        folder = Path(temporary) / "small-files"
        folder.mkdir()
        for number in range(FILES):
            (folder / f"doc-{number:03d}.txt").write_bytes(LINE * (FILE_BYTES // len(LINE)))
        serial, parallel, concurrency = upload_times(folder)
        print(
            f"(a) {FILES} files of {FILE_BYTES:,} bytes, {LATENCY_SECONDS * 1000:.0f} ms a request"
        )
        print(f"    one at a time       {serial:7.2f} s")
        print(
            f"    {concurrency} at once          {parallel:7.2f} s   ratio {parallel / serial:.3f}"
        )
        target = "met" if parallel <= serial / 5 else "NOT met"
        print(f"    target: at most 1/5 of the one-at-a-time time: {target}")
        rss = {}
        for size in sizes:
            path = Path(temporary) / f"lines-{size // MB}mb.txt"
            write_lines(path, size)
            rss[size], seconds = peak_rss_mb(plan_body(path))
            print(
                f"(b) cdk-kp plan of a {size // MB:,} MB file: peak RSS {rss[size]:6.1f} MB, "
                f"{seconds:.1f} s"
            )
            if size == sizes[0]:
                whole, _ = peak_rss_mb(whole_read_body(path))
            path.unlink()
        small, large = rss[sizes[0]], rss[sizes[1]]
        print(
            f"    baseline: the {sizes[0] // MB} MB file read whole: peak RSS {whole:6.1f} MB "
            f"(streaming takes {small / whole:.3f} of it)"
        )
        print(f"    larger minus smaller: {large - small:+.1f} MB")
        print(
            "    targets: under 300 MB for both "
            f"({'met' if max(small, large) < 300 else 'NOT met'}), the larger at most 50 MB above "
            f"the smaller ({'met' if large - small <= 50 else 'NOT met'})"
        )
        many_files(Path(temporary), counts)
        upload_memory(Path(temporary))


UPLOAD_FILES = 24
UPLOAD_FILE_BYTES = 7_900_000
UPLOAD_BIG_BYTES = 60 * MB


def upload_body(folder: Path, url: str, concurrency: int) -> str:
    """Plan ``folder`` and upload it as a batch to the endpoint at ``url``, as the child's
    body."""
    return "; ".join(
        [
            "import os, boto3",
            f"os.environ['AWS_ENDPOINT_URL_S3'] = {url!r}",
            "from cdk_kp.runtime.client import KeyPhrasesClient",
            "session = boto3.Session(aws_access_key_id='bench', aws_secret_access_key='bench', "
            "region_name='us-east-1')",
            "client = KeyPhrasesClient(input_bucket='bench-input', session=session)",
            f"plan = client.plan_upload([{str(folder)!r}], input_format='ONE_DOC_PER_LINE')",
            f"client.upload_sharded(plan, batch='memory-{concurrency}', concurrency={concurrency})",
        ]
    )


def upload_memory(temporary: Path) -> None:
    """(d): the peak RSS of uploading the same files one at a time and 16 at once."""
    import boto3

    from cdk_kp.runtime.transfers import DEFAULT_CONCURRENCY

    folder = temporary / "upload-memory"
    folder.mkdir()
    for number in range(UPLOAD_FILES):
        write_lines(folder / f"doc-{number:02d}.txt", UPLOAD_FILE_BYTES)
    write_lines(folder / "big.txt", UPLOAD_BIG_BYTES)
    rss = {}
    with slow_s3() as url:
        session = boto3.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
        )
        session.client("s3", endpoint_url=url).create_bucket(Bucket="bench-input")
        for concurrency in (1, DEFAULT_CONCURRENCY):
            rss[concurrency], seconds = peak_rss_mb(upload_body(folder, url, concurrency))
            print(
                f"(d) upload of {UPLOAD_FILES} files of {UPLOAD_FILE_BYTES / MB:.1f} MB and one "
                f"of {UPLOAD_BIG_BYTES // MB} MB, {concurrency} at once: peak RSS "
                f"{rss[concurrency]:6.1f} MB, {seconds:.1f} s"
            )
    one, many = rss[1], rss[DEFAULT_CONCURRENCY]
    print(
        f"    baseline: one at a time; {DEFAULT_CONCURRENCY} at once take {many / one:.2f} times "
        f"its memory ({many - one:+.1f} MB)"
    )
    print(
        "    targets: under 300 MB for both "
        f"({'met' if max(one, many) < 300 else 'NOT met'}), {DEFAULT_CONCURRENCY} at once at most "
        f"50 MB above one at a time ({'met' if many - one <= 50 else 'NOT met'})"
    )


def many_files(temporary: Path, counts: tuple[int, int]) -> None:
    """(c): the peak RSS of planning each count of files."""
    import shutil

    rss = {}
    for count in counts:
        folder = temporary / f"files-{count}"
        write_many(folder, count)
        rss[count], seconds = peak_rss_mb(plan_body(folder, "ONE_DOC_PER_FILE"))
        print(
            f"(c) cdk-kp plan of {count:,} files of {MANY_FILE_BYTES} bytes: peak RSS "
            f"{rss[count]:6.1f} MB, {seconds:.1f} s"
        )
        shutil.rmtree(folder)
    small, large = (rss[count] for count in counts)
    more = counts[1] - counts[0]
    print(
        f"    baseline: {counts[0]:,} files; {counts[1]:,} take {large / small:.2f} times its "
        f"memory, {large - small:+.1f} MB ({(large - small) * MB / more:.1f} bytes a file more)"
    )
    print(
        "    targets: under 300 MB for both "
        f"({'met' if max(small, large) < 300 else 'NOT met'}), the larger at most 50 MB above "
        f"the smaller ({'met' if large - small <= 50 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
