"""The policy pack over the sample's own stacks, beyond what tests/policy/ checks of any program."""

from policy.evaluate import evaluate, load_config
from tests.conftest import synthesized


def test_the_dev_stack_meets_every_relaxation_dev_declares():
    """The sample has a component of every kind: each relaxation of policy/dev.json applies to something it
    declares, so none hides a regression here."""
    relaxed = {name for name, c in load_config("dev").items() if c.enforcement != "mandatory"}
    reported = {result.policy for result in evaluate(synthesized("dev"), "dev")}
    assert relaxed <= reported, sorted(relaxed - reported)
