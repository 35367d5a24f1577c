"""``cdk-kp plan``: the shards, skipped files and estimated charge of a corpus, with nothing
uploaded or started. Local paths with ``--format`` need no AWS SDK call (nor credentials)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, TextIO

from cdk_kp.runtime.cli.display import Display, shown_path
from cdk_kp.runtime.cli.exit_codes import INVALID_INPUT, OK, USAGE

if TYPE_CHECKING:
    from cdk_kp.runtime.estimate import Estimate
    from cdk_kp.runtime.uploads import UploadPlan


def plan_command(args: argparse.Namespace, display: Display, stdout: TextIO) -> int:
    """Plan ``args.paths`` and print the plan; :data:`INVALID_INPUT` when nothing in it can be
    uploaded."""
    from cdk_kp.runtime.estimate import estimate

    plan = _plan(args, display)
    if plan is None:
        return USAGE
    found = estimate(plan, price_per_unit=args.price_per_unit)
    if args.json:
        stdout.write(json.dumps(plan_json(plan, found), indent=2) + "\n")
    else:
        stdout.write(plan_text(plan, found))
    stdout.flush()
    return OK if plan.shards else INVALID_INPUT


def _plan(args: argparse.Namespace, display: Display) -> UploadPlan | None:
    uris = [path for path in args.paths if isinstance(path, str)]
    limits = {
        "max_shard_bytes": args.max_shard_bytes,
        "max_shard_documents": args.max_shard_documents,
    }
    if args.format is not None and not uris:
        from cdk_kp.runtime.uploads import plan_upload

        return plan_upload(args.paths, input_format=args.format, **limits)
    if args.format is None and args.stack is None:
        display.say("cdk-kp plan: give --format, or --stack to take its pipeline's format")
        return None
    from cdk_kp.runtime.client import KeyPhrasesClient

    if args.stack is not None:
        client = KeyPhrasesClient.from_stack(args.stack)
        return client.plan_upload(args.paths, input_format=args.format, **limits)
    import boto3

    from cdk_kp.runtime.uploading import plan_s3
    from cdk_kp.runtime.uploads import check_mixed

    check_mixed(args.paths)
    return plan_s3(boto3.Session().client("s3"), uris, args.format, **_positional(limits))


def _positional(limits: dict[str, int]) -> dict[str, int]:
    return {"max_bytes": limits["max_shard_bytes"], "max_documents": limits["max_shard_documents"]}


def plan_json(plan: UploadPlan, found: Estimate) -> dict[str, object]:
    """The plan as ``cdk-kp plan --json`` prints it."""
    return {
        "jobs": len(plan.shards),
        "documents": plan.documents,
        "bytes": plan.size,
        "shards": [
            {
                "name": shard.name,
                "documents": shard.documents,
                "bytes": shard.size,
                "files": shard.objects,
            }
            for shard in plan.shards
        ],
        "skipped": [{"path": str(item.path), "reason": item.reason} for item in plan.skipped],
        "under_minimum": [shard.name for shard in plan.under_minimum],
        "estimate": found.as_dict(),
    }


def plan_text(plan: UploadPlan, found: Estimate) -> str:
    """The plan as ``cdk-kp plan`` prints it."""
    lines = [
        f"{len(plan.shards)} shard(s), one job each: {plan.documents:,} documents, "
        f"{plan.size:,} bytes"
    ]
    width = max((len(shard.name) for shard in plan.shards), default=0)
    lines += [
        f"  {shard.name:<{width}}  {shard.documents:>11,} documents  {shard.size:>15,} bytes  "
        f"{shard.objects:,} file(s)"
        for shard in plan.shards
    ]
    lines += [f"skipped {shown_path(item.path)}: {item.reason}" for item in plan.skipped]
    lines += plan.under_minimum_warnings()
    bound = " at most" if found.from_sizes else ""
    lines.append(
        f"estimated charge:{bound} {found.usd:,.2f} USD for {found.units:,} units of 100 "
        f"characters (at least 3 a document) at {found.price_per_unit} USD a unit"
    )
    return "\n".join(lines) + "\n"
