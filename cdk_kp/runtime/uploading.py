"""The client's upload methods: plan a corpus (local files and folders, or ``s3://`` URIs),
then send it in parallel and resumably. :class:`~cdk_kp.runtime.client.KeyPhrasesClient`
inherits them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from cdk_kp import contract
from cdk_kp.runtime.documents import S3Object, Skipped
from cdk_kp.runtime.errors import InvalidInputError, check_choice
from cdk_kp.runtime.executions import batch_name_or_new
from cdk_kp.runtime.ledger import Ledger
from cdk_kp.runtime.sources import FOLDER_MARKER, listed_objects, measure_object
from cdk_kp.runtime.transfers import (
    DEFAULT_CONCURRENCY,
    SendProgress,
    SendReport,
    existing_objects,
    send,
)
from cdk_kp.runtime.uploads import (
    MANIFEST_NAME,
    ShardedUpload,
    Transfer,
    UploadPlan,
    UploadReport,
    check_mixed,
    check_shard_limits,
    is_s3_uri,
    manifest_body,
    pack,
    plan_upload,
    refuse_clashes,
    require_one_job,
    shard_transfers,
    single_job_transfers,
    split_corpus_uri,
    uploaded_files,
)

#: Called from the sending threads as files finish.
OnUploadProgress = Callable[[SendProgress], None]


class UploadMethods:
    """Planning and uploading, for a client with an input bucket."""

    input_bucket: str | None
    input_prefix: str
    input_format: str
    session: boto3.Session
    _s3: Any

    def upload(
        self,
        paths: Iterable[str | Path],
        *,
        batch: str | None = None,
        input_format: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: OnUploadProgress | None = None,
    ) -> UploadReport:
        """Upload files and folders (or the objects under an ``s3://`` URI) under
        ``<input prefix><batch>/``; a folder keeps its layout.

        A file that cannot be a Comprehend document (unreadable, empty, not UTF-8, over the
        1 MB document limit) is skipped and reported. Files that together are over one job's
        limits are refused before anything is uploaded (:class:`InvalidInputError`): run them
        as a batch (:meth:`upload_sharded`). ``batch`` defaults to a new unique name; the
        report's ``batch_prefix`` is what :meth:`start` takes as ``input_prefix``. Documents
        are checked against ``input_format``, by default the pipeline's. Sending is
        :meth:`upload_plan`'s.
        """
        self._require_input_bucket()
        batch = batch_name_or_new(batch)
        plan = self.plan_upload(paths, input_format=input_format)
        try:
            return self.upload_plan(
                plan, batch=batch, concurrency=concurrency, on_progress=on_progress
            )
        except BaseException:
            plan.close()
            raise

    def plan_upload(
        self,
        paths: Iterable[str | Path],
        *,
        input_format: str | None = None,
        max_shard_bytes: int = contract.MAX_JOB_BYTES,
        max_shard_documents: int = contract.MAX_JOB_DOCUMENTS,
    ) -> UploadPlan:
        """Check and measure the files under ``paths`` (or the objects under ``s3://`` URIs)
        and pack them into shards that each fit one job, uploading nothing.

        Files are read as streams, in bounded memory whatever their size. A file that cannot
        be a document is skipped and reported; a ``ONE_DOC_PER_LINE`` file too big for one
        shard is split at line boundaries across as many as it needs. Shards hold at most
        ``max_shard_bytes`` and ``max_shard_documents`` (default: one job's limits, 5 GB and
        1,000,000 documents). Local paths need no AWS call; ``s3://`` URIs are listed (and,
        for ``ONE_DOC_PER_LINE``, read to count their lines). Local paths and URIs cannot be
        mixed.
        """
        given = [str(path) if is_s3_uri(str(path)) else path for path in paths]
        input_format = _format(input_format or self.input_format)
        uris = [path for path in given if is_s3_uri(path)]
        for uri in uris:
            self._refuse_the_input_prefix(uri)
        if not uris:
            return plan_upload(
                given,
                input_format=input_format,
                max_shard_bytes=max_shard_bytes,
                max_shard_documents=max_shard_documents,
            )
        check_mixed(given)
        return plan_s3(self._s3, uris, input_format, max_shard_bytes, max_shard_documents)

    def _refuse_the_input_prefix(self, uri: str) -> None:
        """Raise :class:`InvalidInputError` for a URI whose objects include the pipeline's
        whole input prefix: the corpus would take in every earlier batch, and the copies this
        upload makes."""
        if self._lists(uri, self.input_prefix):
            where = f"s3://{self.input_bucket}/{self.input_prefix}"
            raise InvalidInputError(
                f"{uri} holds the pipeline's input prefix {where}, where every batch is "
                "written: the corpus would take in earlier batches and this run's own copies. "
                f"Give the folder of the corpus itself (such as {where}FOLDER/, which runs "
                "where it is)"
            )

    def _lists(self, uri: str, key: str) -> bool:
        """Whether listing ``uri`` takes in the input bucket's ``key`` and what is under it."""
        bucket, prefix = split_corpus_uri(uri)
        return bucket == self.input_bucket and key.startswith(prefix)

    def _refuse_copying_into_the_corpus(self, plan: UploadPlan, folder: str) -> None:
        """Raise :class:`InvalidInputError` before anything is sent when the batch's folder is
        under one of the plan's ``s3://`` URIs: run again, the corpus would take in its own
        copies."""
        for uri in plan.uris:
            if self._lists(uri, folder):
                raise InvalidInputError(
                    f"the batch's folder s3://{self.input_bucket}/{folder} is under {uri}, so the "
                    "corpus would take in its own copies when run again; nothing was sent. "
                    "Choose a batch name outside it, or give the corpus's own folder"
                )

    def in_place_prefix(self, plan: UploadPlan) -> str | None:
        """The input prefix that runs ``plan`` where it is, without a copy: for a one-job corpus
        that is every object of one folder under the pipeline's input prefix, in its input
        bucket; otherwise ``None``."""
        if plan.source is None or plan.skipped or len(plan.shards) != 1:
            return None
        bucket, prefix = split_corpus_uri(plan.source)
        if bucket != self.input_bucket or not prefix.startswith(self.input_prefix):
            return None
        if not prefix.endswith("/") or len(prefix) == len(self.input_prefix):
            return None
        return prefix[len(self.input_prefix) :]

    def upload_plan(
        self,
        plan: UploadPlan,
        *,
        batch: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: OnUploadProgress | None = None,
    ) -> UploadReport:
        """Upload a plan of one shard under ``<input prefix><batch>/`` (files keep their
        layout), for :meth:`start`; a plan of more shards is refused
        (:class:`InvalidInputError`). ``concurrency`` files are sent at once (default 16); a
        file already there with the same content (an interrupted upload run again with the
        same ``batch``) is not sent again and is counted in ``already_uploaded``."""
        require_one_job(plan)
        batch_prefix = f"{batch_name_or_new(batch)}/"
        folder = f"{self.input_prefix}{batch_prefix}"
        sent = self._send(
            plan, lambda: single_job_transfers(plan, folder), batch_prefix, concurrency, on_progress
        )
        return UploadReport(
            batch_prefix=batch_prefix,
            uploaded=uploaded_files(plan, folder),
            skipped=plan.skipped,
            bytes_uploaded=plan.size,
            already_uploaded=sent.already_there,
        )

    def upload_sharded(
        self,
        plan: UploadPlan,
        *,
        batch: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: OnUploadProgress | None = None,
    ) -> ShardedUpload:
        """Upload a plan's shards, shard ``n`` under ``<batch>/shard-<n>/`` keeping the files'
        layout (a part of a split file in a shard named after its first line), then the manifest of
        the shards
        (``<batch>/manifest.json``) that :meth:`start_batch` takes. ``batch`` defaults to a new
        unique name; sending is as :meth:`upload_plan`'s, resumable the same way."""
        bucket = self._require_input_bucket()
        batch = batch_name_or_new(batch)
        upload = ShardedUpload(
            batch_prefix=f"{batch}/",
            manifest=f"{batch}/{MANIFEST_NAME}",
            shards=plan.shards,
            skipped=plan.skipped,
        )
        if not plan.shards:
            return upload
        folder = f"{self.input_prefix}{upload.batch_prefix}"
        sent = self._send(
            plan,
            lambda: shard_transfers(plan, folder),
            upload.batch_prefix,
            concurrency,
            on_progress,
        )
        upload.already_uploaded = sent.already_there
        self._s3.put_object(
            Bucket=bucket,
            Key=f"{self.input_prefix}{upload.manifest}",
            Body=manifest_body(upload.shard_prefixes),
            ContentType="application/json",
        )
        return upload

    def _require_input_bucket(self) -> str:
        if self.input_bucket is None:
            raise InvalidInputError("upload needs the client's input_bucket")
        return self.input_bucket

    def _send(
        self,
        plan: UploadPlan,
        transfers: Callable[[], Iterator[Transfer]],
        batch_prefix: str,
        concurrency: int,
        on_progress: OnUploadProgress | None,
    ) -> SendReport:
        """Send the transfers of ``plan`` (``transfers()`` lists them, and may be called more
        than once) into the batch's folder, leaving what is already there. A folder that holds
        objects this upload would not write (a resumed upload whose files changed their layout,
        or a name used for other files) is refused before anything is sent: its job would read
        them too."""
        bucket = self._require_input_bucket()
        if concurrency < 1:
            raise InvalidInputError(f"concurrency must be at least 1; got {concurrency}")
        s3 = self.session.client("s3", config=Config(max_pool_connections=max(10, concurrency)))
        folder = f"{self.input_prefix}{batch_prefix}"
        self._refuse_copying_into_the_corpus(plan, folder)
        existing = existing_objects(s3, bucket, folder)
        try:
            if existing is not None and existing.key_count():
                _refuse_strangers(bucket, folder, existing, transfers())
            return send(
                s3,
                bucket,
                transfers(),
                files=plan.objects,
                size=plan.size,
                existing=existing,
                concurrency=concurrency,
                on_progress=on_progress,
            )
        finally:
            if existing is not None:
                existing.close()


def _refuse_strangers(
    bucket: str, folder: str, existing: Ledger, transfers: Iterable[Transfer]
) -> None:
    """Raise :class:`InvalidInputError` naming the objects in ``folder`` that no transfer
    writes (the manifest aside, which is written again)."""
    existing.mark_planned(transfer.key for transfer in transfers)
    existing.mark_planned([f"{folder}{MANIFEST_NAME}"])
    count, strangers = existing.unplanned(limit=3)
    if count:
        shown = ", ".join(strangers) + (", ..." if count > 3 else "")
        raise InvalidInputError(
            f"s3://{bucket}/{folder} already holds {count:,} object(s) this upload "
            f"would not write ({shown}), and its job would read them too; nothing was sent. "
            "Use another batch name, or remove them"
        )


def plan_s3(
    s3: Any, uris: Sequence[str], input_format: str, max_bytes: int, max_documents: int
) -> UploadPlan:
    """The plan of the objects under ``uris``, read where they are (see
    :mod:`cdk_kp.runtime.sources`)."""
    check_shard_limits(max_bytes, max_documents)
    ledger = Ledger()
    try:
        number = 0
        for index, uri in enumerate(uris):
            for found, key, size in listed_objects(s3, uri):
                if found.key.endswith("/"):
                    # Not a source: two URIs' markers must not clash as one empty key.
                    ledger.add_skipped(Skipped(found, FOLDER_MARKER))
                    continue
                # In the listing's order (for a general purpose bucket, the keys' order).
                order = index.to_bytes(4, "big") + number.to_bytes(8, "big")
                ledger.add_source(order, found, key, size)
                number += 1
        refuse_clashes(ledger)
        measured = (
            measure_object(s3, source, key, size, input_format, max_bytes, max_documents)
            for source, key, size in ledger.sources()
            if isinstance(source, S3Object)
        )
        per_file = input_format == contract.InputFormat.ONE_DOC_PER_FILE
        return pack(measured, max_bytes, max_documents, ledger, uris, units_from_sizes=per_file)
    except BaseException:
        ledger.close()
        raise


def _format(input_format: str) -> str:
    check_choice("input_format", input_format, contract.INPUT_FORMATS)
    return input_format
