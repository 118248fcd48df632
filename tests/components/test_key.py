"""EncryptionKey: rotation, deletion window, and a key policy with named actions and no bare `*` principal."""

from components.key import KEY_DESCRIPTION, EncryptionKey, EncryptionKeyArgs
from components.profile import EnvironmentProfile
from tests.helpers import run, statements


def declare(profile=None):
    profile = profile or EnvironmentProfile()
    return run(lambda: EncryptionKey("data", EncryptionKeyArgs(profile=profile.args)))


def test_rotation_on_and_deletion_window_from_the_profile():
    key = declare(EnvironmentProfile(kms_deletion_window_days=14)).one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 14
    assert (key.protect, key.retain_on_delete) == (True, True)


def test_description_and_outputs():
    synthesis = declare()
    key = synthesis.one("aws:kms/key:Key")
    assert key.inputs["description"] == KEY_DESCRIPTION
    component = synthesis.one("platform:index:EncryptionKey")
    assert set(synthesis.component_outputs[component.urn]) == {"arn", "key_id"}, component.urn
    assert synthesis.component_outputs[component.urn]["arn"] == key.outputs["arn"]


def test_alias_names_the_stack():
    assert declare().one("aws:kms/alias:Alias").inputs["name"] == "alias/image-pipeline-unit-data"


def test_policy_names_every_action_and_every_principal():
    found = statements(declare().one("aws:kms/key:Key"))
    for statement in found:
        assert statement["Principal"] not in ("*", {"AWS": "*"}), statement["Sid"]
        assert all("*" not in action for action in statement["Action"]), statement["Sid"]
    by_sid = {s["Sid"]: s for s in found}
    assert by_sid["AccountAdministersThroughIam"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert "kms:PutKeyPolicy" in by_sid["AccountAdministersThroughIam"]["Action"], "never lock the account out"
    logs = by_sid["CloudWatchLogsEncryptsOurLogGroups"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:123456789012:log-group:*"}
    }
    events = by_sid["EventBridgeWritesOurQueuesAndTopic"]
    assert events["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
