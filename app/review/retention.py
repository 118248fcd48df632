"""How long the stack keeps what an image leaves behind, read from the resources it declares: where the uploads go
and when their bucket expires them, where the renditions go, and how long the log groups keep their lines. The cost
model prices storage for as long as this says (app/review/per_image.py); the levers vary it (app/review/levers.py).
"""

import json

from handlers.pipeline.contract import RESULTS_BUCKET_ENV
from synth.program import RecordedResource, Synthesis

LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def uploads(synthesis: Synthesis) -> tuple[RecordedResource | None, str]:
    """The bucket whose events start the entry workflow, and the key prefix of its uploads: both named in the
    rule's event pattern."""
    names: set[str] = set()
    prefixes: set[str] = set()
    for rule in synthesis.of_type("aws:cloudwatch/eventRule:EventRule"):
        detail = json.loads(rule.inputs.get("eventPattern") or "{}").get("detail", {})
        names.update(detail.get("bucket", {}).get("name", []))
        prefixes.update(m["prefix"] for m in detail.get("object", {}).get("key", []) if isinstance(m, dict))
    buckets = [b for b in synthesis.of_type("aws:s3/bucket:Bucket") if b.inputs.get("bucket") in names]
    return (buckets[0] if len(buckets) == 1 else None), (prefixes.pop() if len(prefixes) == 1 else "")


def results_bucket(synthesis: Synthesis) -> RecordedResource | None:
    """The bucket the rendering functions write renditions to (their RESULTS_BUCKET)."""
    names = {str(((f.inputs.get("environment") or {}).get("variables") or {}).get(RESULTS_BUCKET_ENV))
             for f in synthesis.of_type("aws:lambda/function:Function")}  # fmt: skip
    buckets = [b for b in synthesis.of_type("aws:s3/bucket:Bucket") if b.inputs.get("bucket") in names]
    return buckets[0] if len(buckets) == 1 else None


def expiration_days(synthesis: Synthesis, bucket: RecordedResource | None, prefix: str) -> int | None:
    """The days after which an enabled lifecycle rule of `bucket` expires objects under `prefix`; None if none."""
    if bucket is None:
        return None
    lifecycles = [c for c in synthesis.of_type(LIFECYCLE) if c.inputs.get("bucket") == bucket.inputs.get("bucket")]
    days = [int(rule["expiration"]["days"]) for lifecycle in lifecycles for rule in lifecycle.inputs.get("rules", [])
            if rule.get("status") == "Enabled" and (rule.get("expiration") or {}).get("days")
            and prefix.startswith((rule.get("filter") or {}).get("prefix", ""))]  # fmt: skip
    return min(days) if days else None


def log_retention_days(synthesis: Synthesis) -> int | None:
    """The longest retention of the stack's log groups; None when one keeps its logs forever."""
    days = [int(group.inputs.get("retentionInDays") or 0)
            for group in synthesis.of_type("aws:cloudwatch/logGroup:LogGroup")]  # fmt: skip
    return max(days) if days and all(days) else None
