"""Offline `pulumi preview`: the resource tree a stack would create, with what matters for review.

Runs the real program under mocks (no credentials, no Pulumi CLI), so a reviewer of a pull request, or of a fork,
sees every resource with its type, name, parent, protection and security-relevant settings, what each alarm
watches and whom it tells (the Operations part), and the stack outputs.

    python -m review.preview --stack dev

Exit 0 with the tree, 2 for an unknown stack (one line naming the stacks), 1 when the program itself fails (its
error printed as the CLI would, without a traceback).
"""

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from review import operations
from synth.cli import check_stack, run_tool
from synth.program import RecordedResource, Synthesis, close_runtime, synthesize

REVIEW_PROPERTIES: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("region", "defaultTags"),
    "aws:s3/bucket:Bucket": ("bucket", "forceDestroy"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (
        "blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("rule",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ("rules",),
    "aws:s3/bucketVersioning:BucketVersioning": ("versioningConfiguration",),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("rules",),
    "aws:s3/bucketNotification:BucketNotification": ("eventbridge",),
    "aws:s3/bucketLogging:BucketLogging": ("targetBucket", "targetPrefix"),
    "aws:dynamodb/table:Table": ("name", "billingMode", "hashKey", "pointInTimeRecovery", "serverSideEncryption",
                                 "deletionProtectionEnabled", "ttl"),
    "aws:lambda/function:Function": ("name", "runtime", "architectures", "handler", "memorySize", "timeout",
                                     "reservedConcurrentExecutions", "tracingConfig", "loggingConfig", "kmsKeyArn"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays", "kmsKeyId"),
    "aws:iam/role:Role": ("name",),
    "aws:sfn/stateMachine:StateMachine": ("name", "type", "loggingConfiguration", "tracingConfiguration"),
    "aws:xray/samplingRule:SamplingRule": ("ruleName", "serviceName", "serviceType", "reservoirSize", "fixedRate"),
    "aws:kms/key:Key": ("enableKeyRotation", "deletionWindowInDays"),
    "aws:kms/alias:Alias": ("name",),
    "aws:sqs/queue:Queue": ("name", "messageRetentionSeconds", "kmsMasterKeyId", "sqsManagedSseEnabled"),
    "aws:cloudwatch/eventRule:EventRule": ("name", "eventPattern"),
    "aws:cloudwatch/eventTarget:EventTarget": ("retryPolicy", "deadLetterConfig"),
}  # fmt: skip
POLICY_PROPERTIES = ("policy", "assumeRolePolicy")


def render(synthesis: Synthesis, *, with_operations: bool = False) -> str:
    """The resource tree and the stack outputs; with `with_operations`, between them, what each alarm watches, the
    alarm topic's subscriptions, the dashboard and the backup plan (review/operations.py)."""
    lines = [f"Stack {synthesis.stack}: {len(synthesis.resources)} resources", ""]
    top = [r for r in synthesis.resources if "::pulumi:pulumi:Stack::" in r.parent]
    for resource in _ordered(top):
        lines.extend(_tree(synthesis, resource, depth=0))
    if with_operations:
        lines += ["", *operations.text_lines(synthesis)]
    lines += ["", "Outputs:"]
    lines += [f"  {name}: {value}" for name, value in sorted(synthesis.outputs.items())]
    return "\n".join(lines)


def _tree(synthesis: Synthesis, resource: RecordedResource, depth: int) -> Iterator[str]:
    indent = "  " * depth
    flags = [flag for flag, on in (("protect", resource.protect), ("retain", resource.retain_on_delete)) if on]
    flag_text = f"  [{', '.join(flags)}]" if flags else ""
    yield f"{indent}{'+' if resource.custom else '#'} {resource.type}  {resource.name}{flag_text}"
    for line in _details(resource):
        yield f"{indent}    {line}"
    for child in _ordered(synthesis.children(resource)):
        yield from _tree(synthesis, child, depth + 1)


def _ordered(resources: list[RecordedResource]) -> list[RecordedResource]:
    """Registration order varies between runs (it is asynchronous); a stable order keeps diffs readable."""
    return sorted(resources, key=lambda r: (r.type, r.name))


def _details(resource: RecordedResource) -> Iterator[str]:
    for key in REVIEW_PROPERTIES.get(resource.type, ()):
        if resource.inputs.get(key) not in (None, "", [], {}):
            yield f"{key}: {_compact(resource.inputs[key])}"
    for key in POLICY_PROPERTIES:
        if isinstance(resource.inputs.get(key), str):
            yield from (f"{key}: {line}" for line in _policy_lines(resource.inputs[key]))
    environment = (resource.inputs.get("environment") or {}).get("variables")
    if environment:
        yield f"environment: {', '.join(sorted(environment))}"


def _policy_lines(document: str) -> Iterator[str]:
    """One line per statement: effect, principal, actions, resources; enough to review who may do what."""
    statements = json.loads(document).get("Statement", [])
    for statement in statements:
        principal = statement.get("Principal")
        who = f" {_compact(principal)}" if principal else ""
        actions = statement.get("Action")
        resources = statement.get("Resource")
        where = f" on {_compact(resources)}" if resources else ""
        condition = f" if {_compact(statement['Condition'])}" if "Condition" in statement else ""
        yield f"{statement['Effect']}{who} {_compact(actions)}{where}{condition}"


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="stack name, one of the Pulumi.<stack>.yaml files")
    parser.add_argument("--preview-mode", action="store_true", help="run as `pulumi preview` does (dry run)")
    options = parser.parse_args(argv)
    return run_tool(lambda: _preview(options))


def _preview(options: argparse.Namespace) -> int:
    check_stack(options.stack)
    try:
        synthesis = synthesize(options.stack, preview=options.preview_mode)
    finally:
        close_runtime()
    print(render(synthesis, with_operations=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
