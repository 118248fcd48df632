"""Bucket: every secure default, each profile switch, and grants that produce exactly the expected statements."""

import pytest

from components.bucket import (
    ABORT_INCOMPLETE_MULTIPART_DAYS,
    NONCURRENT_VERSION_EXPIRATION_DAYS,
    Bucket,
    BucketArgs,
    BucketExpiration,
)
from components.function import Function, FunctionArgs
from components.key import EncryptionKey, EncryptionKeyArgs
from components.package import build_schema
from synth.program import SynthesisError
from tests.helpers import DISPOSABLE, PROTECTED, document, run, statements, tiny_code

BUCKET_ARN = "arn:aws:s3:::image-pipeline-unit-photos-123456789012"


def declare(profile=DISPOSABLE, with_key=False, **kwargs):
    def build():
        key = EncryptionKey("data", EncryptionKeyArgs(profile=profile.args)) if with_key else None
        return Bucket("photos", BucketArgs(profile=profile.args, kms_key_arn=key.arn if key else None, **kwargs))

    return run(build)


def test_name_is_project_stack_name_plus_account_for_global_uniqueness():
    bucket = declare().one("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "image-pipeline-unit-photos-123456789012"


def test_public_access_is_blocked_all_four_ways():
    block = declare().one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[flag] is True, f"{block.urn}: {flag} must be true"


def test_bucket_owner_enforced_disables_acls():
    ownership = declare().one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_policy_denies_plain_http_and_old_tls_for_everyone():
    synthesis = declare()
    policy = synthesis.one("aws:s3/bucketPolicy:BucketPolicy")
    found = statements(policy)
    assert [s["Effect"] for s in found] == ["Deny", "Deny"]
    assert found[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert found[1]["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
    assert all(s["Resource"] == [BUCKET_ARN, f"{BUCKET_ARN}/*"] for s in found)
    block = synthesis.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.urn in policy.dependencies, "the policy must wait for the public access block"


def test_disposable_profile_uses_s3_managed_encryption():
    rule = declare().one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert rule.inputs["rules"] == [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}, "bucketKeyEnabled": False}
    ]


def test_customer_key_means_sse_kms_with_bucket_key():
    synthesis = declare(PROTECTED, with_key=True)
    key = synthesis.one("aws:kms/key:Key")
    config = synthesis.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs["rules"][0]
    assert config["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key.outputs["arn"],
    }
    assert config["bucketKeyEnabled"] is True


def test_lifecycle_aborts_incomplete_uploads_and_expires_by_prefix():
    lifecycle = declare(expirations=[BucketExpiration(prefix="uploads/", days=7)]).one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    )
    rules = {rule["id"]: rule for rule in lifecycle.inputs["rules"]}
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert rules["expire-uploads-after-7-days"]["filter"] == {"prefix": "uploads/"}
    assert rules["expire-uploads-after-7-days"]["expiration"] == {"days": 7}
    assert "expire-noncurrent-versions" not in rules, "no versions to expire when versioning is off"


def test_versioning_follows_the_profile():
    assert not declare(DISPOSABLE).of_type("aws:s3/bucketVersioning:BucketVersioning")
    synthesis = declare(PROTECTED)
    versioning = synthesis.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    rules = synthesis.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    assert {"noncurrentDays": 90} in [rule.get("noncurrentVersionExpiration") for rule in rules]


def test_protection_and_destruction_follow_the_profile():
    disposable = declare(DISPOSABLE).one("aws:s3/bucket:Bucket")
    assert (disposable.protect, disposable.retain_on_delete, disposable.inputs["forceDestroy"]) == (False, False, True)
    protected = declare(PROTECTED).one("aws:s3/bucket:Bucket")
    assert (protected.protect, protected.retain_on_delete, protected.inputs["forceDestroy"]) == (True, True, False)


def test_event_bridge_notifications_only_when_asked():
    assert not declare().of_type("aws:s3/bucketNotification:BucketNotification")
    notification = declare(event_bridge=True).one("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["eventbridge"] is True


def test_children_are_parented_and_outputs_registered():
    synthesis = declare(event_bridge=True)
    component = synthesis.one("platform:index:Bucket")
    assert len(synthesis.children(component)) == 7
    assert synthesis.component_outputs[component.urn] == {
        "name": "image-pipeline-unit-photos-123456789012",
        "arn": BUCKET_ARN,
    }, "access_log_target is registered as None (left out) for a bucket that receives no access logs"


def grants(tmp_path, profile, with_key, grant):
    def build():
        key = EncryptionKey("data", EncryptionKeyArgs(profile=profile.args)) if with_key else None
        bucket = Bucket("photos", BucketArgs(profile=profile.args, kms_key_arn=key.arn if key else None))
        function = Function(
            "reader", FunctionArgs(profile=profile.args, code=tiny_code(tmp_path), handler="app.main.handler")
        )
        grant(bucket, function)

    synthesis = run(build)
    policies = [r for r in synthesis.of_type("aws:iam/rolePolicy:RolePolicy") if r.name != "reader-logs-and-traces"]
    assert len(policies) == 1
    return synthesis, policies[0]


def test_grant_read_is_scoped_to_the_prefix(tmp_path):
    _, policy = grants(tmp_path, DISPOSABLE, False, lambda b, f: b.grant_read(f, prefix="uploads/"))
    assert policy.name == "reader-read-photos-uploads"
    assert statements(policy) == [
        {
            "Sid": "Objects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"],
            "Resource": [f"{BUCKET_ARN}/uploads/*"],
        }
    ]


def test_grant_write_with_a_customer_key_adds_exactly_the_key_actions(tmp_path):
    synthesis, policy = grants(tmp_path, PROTECTED, True, lambda b, f: b.grant_write(f, prefix="out/"))
    key_arn = synthesis.one("aws:kms/key:Key").outputs["arn"]
    assert statements(policy) == [
        {"Sid": "Objects", "Effect": "Allow", "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
         "Resource": [f"{BUCKET_ARN}/out/*"]},
        {"Sid": "KmsEncrypt", "Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"], "Resource": [key_arn]},
    ]  # fmt: skip


def test_grant_read_with_a_customer_key_may_only_decrypt(tmp_path):
    _synthesis, policy = grants(tmp_path, PROTECTED, True, lambda b, f: b.grant_read(f))
    assert statements(policy)[1]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert statements(policy)[0]["Resource"] == [f"{BUCKET_ARN}/*"]


def test_grant_list_is_limited_to_the_prefix_by_condition(tmp_path):
    _, policy = grants(tmp_path, DISPOSABLE, False, lambda b, f: b.grant_list(f, prefix="uploads/"))
    assert statements(policy) == [
        {"Sid": "List", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [BUCKET_ARN],
         "Condition": {"StringLike": {"s3:prefix": ["uploads/*"]}}}
    ]  # fmt: skip


@pytest.mark.parametrize("preview", [False, True])
def test_declares_in_both_modes(preview):
    assert run(lambda: Bucket("photos", BucketArgs(profile=DISPOSABLE.args)), preview=preview).one(
        "aws:s3/bucket:Bucket"
    )


def test_policy_document_is_json():
    assert document(declare().one("aws:s3/bucketPolicy:BucketPolicy"))["Version"] == "2012-10-17"


def log_bucket_and_photos() -> None:
    logs = Bucket("logs", BucketArgs(profile=DISPOSABLE.args, receives_access_logs=True))
    Bucket("photos", BucketArgs(profile=DISPOSABLE.args, access_log_bucket=logs.access_log_target))


def test_access_logs_go_to_the_log_bucket_under_the_bucket_name():
    synthesis = run(log_bucket_and_photos)
    (logging,) = synthesis.of_type("aws:s3/bucketLogging:BucketLogging")
    assert logging.inputs["targetBucket"] == "image-pipeline-unit-logs-123456789012"
    assert logging.inputs["targetPrefix"] == "photos/"
    assert logging.parent == synthesis.one("platform:index:Bucket", "photos").urn


@pytest.mark.parametrize("preview", [False, True])
def test_access_logging_waits_for_the_log_bucket_policy(preview):
    """The log bucket's policy is what lets S3 deliver: its `access_log_target` output carries the policy as a
    dependency (and stays known in a preview), so logging is configured only after the policy exists."""
    synthesis = run(log_bucket_and_photos, preview=preview)
    (logging,) = synthesis.of_type("aws:s3/bucketLogging:BucketLogging")
    log_policy = next(p for p in synthesis.of_type("aws:s3/bucketPolicy:BucketPolicy") if p.name == "logs-policy")
    assert log_policy.urn in logging.dependencies, f"{logging.urn} must wait for {log_policy.urn}"
    assert logging.inputs["targetBucket"] == "image-pipeline-unit-logs-123456789012", logging.urn
    logs = synthesis.one("platform:index:Bucket", "logs")
    assert synthesis.component_outputs[logs.urn]["access_log_target"] == "image-pipeline-unit-logs-123456789012"


def test_no_access_logging_unless_asked():
    assert not declare().of_type("aws:s3/bucketLogging:BucketLogging")


def test_the_log_bucket_lets_only_s3_log_delivery_of_this_account_write():
    policy = run(lambda: Bucket("logs", BucketArgs(profile=DISPOSABLE.args, receives_access_logs=True))).one(
        "aws:s3/bucketPolicy:BucketPolicy"
    )
    delivery = statements(policy)[-1]
    assert delivery == {
        "Sid": "S3LogDeliveryWritesAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::image-pipeline-unit-logs-123456789012/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
    }
    assert [s["Sid"] for s in statements(declare().one("aws:s3/bucketPolicy:BucketPolicy"))] == [
        "DenyInsecureTransport",
        "DenyOutdatedTls",
    ]


def test_a_log_bucket_cannot_use_a_kms_key_and_nothing_of_it_is_declared():
    def build():
        key = EncryptionKey("data", EncryptionKeyArgs(profile=PROTECTED.args))
        Bucket("logs", BucketArgs(profile=PROTECTED.args, kms_key_arn=key.arn, receives_access_logs=True))

    with pytest.raises(SynthesisError, match="receives_access_logs with a kms_key_arn: an access-log bucket") as failed:
        run(build)
    assert "leave out kms_key_arn" in str(failed.value)
    assert [r.urn for r in failed.value.declared if r.name.startswith("logs")] == []


def test_the_schema_documents_the_lifecycle_defaults():
    schema = build_schema([Bucket], "platform", "0.0.0")
    described = schema["resources"]["platform:index:Bucket"]["inputProperties"]["expirations"]["description"]
    assert f"after {ABORT_INCOMPLETE_MULTIPART_DAYS}" in described
    assert f"after {NONCURRENT_VERSION_EXPIRATION_DAYS}" in described
