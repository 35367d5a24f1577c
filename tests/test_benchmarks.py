"""The benchmarks' harnesses work: the polling one runs one short job through both definitions,
the upload one measures each process's own memory and serves S3 on 127.0.0.1.

Figures are the benchmark's business (`make bench`); this only checks that it measures what it
says, so a broken benchmark is noticed before anyone reads its numbers.
"""

from __future__ import annotations

from aws_cdk.assertions import Template

from benchmarks.polling import fixed_poller_stack, lag_target, run_sweep
from benchmarks.upload import MB, peak_rss_mb, plan_body, slow_s3, whole_read_body, write_lines
from cdk_kp import KeyPhrasesStack

from .conftest import new_app


def test_polling_benchmark_runs_both_definitions_for_a_short_job():
    duration = 300
    ours = run_sweep(
        Template.from_stack(KeyPhrasesStack(new_app(), "KeyPhrasesStack")).to_json(),
        "KeyPhrasesStack",
        [duration],
    )
    fixed = run_sweep(
        Template.from_stack(fixed_poller_stack()).to_json(), "FixedPoller", [duration]
    )
    (mine,), (theirs,) = ours, fixed
    assert mine.status == theirs.status == "SUCCEEDED"
    # Fixed poller: Start, then Wait/Describe/Choice five times, then Succeed.
    assert (theirs.describes, theirs.transitions, theirs.lag) == (5, 17, 0)
    # Ours: the default schedule waits 60 s five times before 300 s; plus defaults,
    # validation, start and the output state.
    assert (mine.describes, mine.transitions, mine.lag) == (5, 20, 0)
    assert mine.lag <= lag_target(duration)


def test_upload_benchmark_measures_each_process_own_peak_memory(tmp_path):
    """A whole-file read of 40 MB peaks above 40 MB; the streaming plan of it stays far below,
    in the same measurement (VmHWM of the child, not the ru_maxrss a fork inherits)."""
    path = tmp_path / "lines.txt"
    write_lines(path, 40 * MB)
    streamed, _ = peak_rss_mb(plan_body(path))
    whole, _ = peak_rss_mb(whole_read_body(path))
    assert whole > 40
    assert streamed < whole - 30


def test_the_slow_endpoint_serves_s3_on_the_loopback_address():
    import boto3

    with slow_s3() as url:
        assert url.startswith("http://127.0.0.1:")
        s3 = boto3.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        ).client("s3", endpoint_url=url)
        s3.create_bucket(Bucket="probe")
        s3.put_object(Bucket="probe", Key="k", Body=b"v")
        assert s3.get_object(Bucket="probe", Key="k")["Body"].read() == b"v"
