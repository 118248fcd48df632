"""A new stack is just a new `Pulumi.<stack>.yaml`: made as `pulumi new` would make it (the template asks for the
region) plus the one key without a default (the account), it is picked up by every stack-wide test and the review,
and passes them, without editing anything else but its graph snapshot."""

import pytest
import yaml

from tests.template.copy import NESTED, copy_repository, explain, run

STAGING = {"config": {"aws:region": "eu-central-1", "platform:profile": {"allowedAccountIds": ["777788889999"]}}}
"""Nothing but the template's prompt and the account: every other setting takes the profile's safe default."""
STACK_WIDE_PLUGIN = """
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        stack = getattr(getattr(item, "callspec", None), "params", {}).get("stack")
        if stack is not None:
            print("STACK-WIDE", item.nodeid.split("[")[0], stack)
"""
"""Lists every collected test that takes a stack (the `stack` fixture, or `program`, which takes it), per stack:
before `-m` and `-k` deselect any (it runs first), so the run of the staging tests lists every stack's."""


@pytest.mark.template
@pytest.mark.longest
def test_a_third_stack_file_is_picked_up_and_passes_every_stack_wide_test_and_the_review(tmp_path):
    copy = copy_repository(tmp_path)
    (copy / "Pulumi.staging.yaml").write_text(yaml.safe_dump(STAGING))
    snapshot = run(copy, "-m", "review.snapshot", "--write")
    assert snapshot.returncode == 0, explain(snapshot)

    (copy / "stack_wide.py").write_text(STACK_WIDE_PLUGIN)
    passed = run(copy, "-m", "pytest", *NESTED, "-s", "-p", "stack_wide", "-m", "not template and not e2e", "-k",
                 "staging")  # fmt: skip
    assert passed.returncode == 0, explain(passed)
    stacks_of: dict[str, set[str]] = {}
    for line in passed.stdout.splitlines():
        if line.startswith("STACK-WIDE "):
            _, test, stack = line.split(" ")
            stacks_of.setdefault(test, set()).add(stack)
    assert len(stacks_of) > 50, "the suite has stack-wide tests"
    missed = sorted(test for test, stacks in stacks_of.items() if stacks != {"dev", "prod", "staging"})
    assert not missed, f"not run for every stack: {missed[:10]}"

    review = run(copy, "-m", "review", "--stack", "staging", "--quiet")
    assert review.returncode == 0, explain(review)
    assert "staging" in (copy / ".build" / "review" / "staging.md").read_text()
