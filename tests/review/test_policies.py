"""The policy section: the pack's results when it imports, a plain note when it does not exist, and a loud
failure when it exists but cannot import."""

import sys
import types
from dataclasses import dataclass

import pytest

from review import policies
from tests.conftest import synthesized


@dataclass(frozen=True)
class Result:
    policy: str
    severity: str
    enforcement: str
    urn: str | None
    message: str
    remediation: str


URN = "urn:pulumi:dev::image-pipeline::platform:index:Bucket$aws:s3/bucket:Bucket::inbox-bucket"


def fake_pack(monkeypatch, evaluate):
    module = types.ModuleType("policy.evaluate")
    module.evaluate = evaluate
    monkeypatch.setitem(sys.modules, "policy", types.ModuleType("policy"))
    monkeypatch.setitem(sys.modules, "policy.evaluate", module)


def test_a_missing_pack_is_reported_not_raised(monkeypatch):
    monkeypatch.setitem(sys.modules, "policy.evaluate", None)  # what `import` does for a module that is not there
    outcome = policies.evaluate(synthesized("dev"), "dev")
    assert not outcome.available
    assert policies.summary(outcome) == "policy pack not available"
    assert "not available" in policies.section(outcome)[0]


def test_a_pack_that_fails_to_import_fails_the_report(monkeypatch):
    def broken(name, *args, **kwargs):
        raise ModuleNotFoundError("No module named 'pulumi_policy'", name="pulumi_policy")

    monkeypatch.setattr(policies.importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError, match="pulumi_policy"):
        policies.evaluate(synthesized("dev"), "dev")


def test_violations_are_listed_mandatory_first_with_their_remediation(monkeypatch):
    seen = []

    def evaluate(synthesis, stack):
        seen.append((synthesis.stack, stack))
        return [
            Result("dev-idle-cost", "low", "advisory", None, "costs while idle", "scale to zero"),
            Result("s3-public-access", "high", "mandatory", URN, "no public access block", "add one"),
        ]

    fake_pack(monkeypatch, evaluate)
    outcome = policies.evaluate(synthesized("dev"), "dev")
    assert seen == [("dev", "dev")]
    assert policies.summary(outcome) == "1 mandatory, 1 advisory violations"
    text = "\n".join(policies.section(outcome))
    blocking, allowed = text.split("<details>")
    assert (
        "| high | `s3-public-access` | `aws:s3/bucket:Bucket inbox-bucket` | no public access block | add one |"
        in blocking
    )
    assert "dev-idle-cost" not in blocking, "advisory results are collapsed, apart from what blocks"
    assert "| advisory | `dev-idle-cost` | the stack | costs while idle | scale to zero |" in allowed


def test_a_clean_stack_says_so(monkeypatch):
    fake_pack(monkeypatch, lambda synthesis, stack: [])
    outcome = policies.evaluate(synthesized("prod"), "prod")
    assert policies.summary(outcome) == "no violations"
    assert "passes" in policies.section(outcome)[0]
