"""The pack over every stack file, as `pulumi preview --policy-pack policy --policy-pack-config policy/<stack>.json`
would run it: no mandatory violation anywhere (a new Pulumi.<stack>.yaml is covered by the `stack` fixture), and
only reasoned, relaxable rules advisory in dev. Each stack runs two programs: the project's own, and the reference
program (tests/reference.py), which has every component, so that every rule and every relaxation meets what it is
about whatever the project's program declares."""

import json
import math

import pytest

from components.environment import secret_looking as program_secret_looking
from policy.evaluate import ALL, config_path, evaluate, load_config, resolve_config, rule_table
from policy.rules import ALL_POLICIES
from policy.rules.environment import secret_looking as pack_secret_looking
from policy.rules.idle import DASHBOARD, METRIC_ALARM, SECRET, idle_charges
from review.costs import idle_costs
from tests.conftest import synthesized
from tests.reference import reference_program

RULES = {policy.name for policy in ALL_POLICIES}
PROGRAMS = {"program": synthesized, "reference": reference_program}
"""(stack, preview) -> Synthesis: the stacks' own program, and the reference program under the same configuration."""


@pytest.fixture(params=sorted(PROGRAMS))
def program_of(request: pytest.FixtureRequest):
    return PROGRAMS[request.param]


def relaxed_rules(stack: str) -> dict[str, str | None]:
    """Rules the stack's config does not make mandatory, with the reason it gives."""
    return {name: c.reason for name, c in load_config(stack).items() if c.enforcement != "mandatory"}


def test_no_mandatory_violation_in_any_stack_in_either_mode(program_of, stack, mode):
    results = evaluate(program_of(stack, mode), stack)
    blocking = [f"{r.policy} {r.urn}: {r.message}" for r in results if r.enforcement == "mandatory"]
    assert not blocking, f"{stack} would fail `pulumi preview` with the policy pack:\n" + "\n".join(blocking)


def test_whatever_a_stack_reports_is_advisory_by_its_config_with_a_reason(program_of, stack):
    relaxed = relaxed_rules(stack)
    for result in evaluate(program_of(stack), stack):
        assert result.policy in relaxed, f"{result.policy} {result.urn}: {result.message}"
        assert relaxed[result.policy], f"{stack} relaxes {result.policy} without a reason"
        assert relaxed[result.policy] in result.message, "the violation carries the stack's reason"


def test_prod_reports_nothing(program_of):
    results = evaluate(program_of("prod"), "prod")
    assert not relaxed_rules("prod"), "prod makes every rule mandatory"
    assert [f"{r.policy} {r.urn}: {r.message}" for r in results] == []


def test_dev_uses_every_relaxation_it_declares():
    """A relaxation that no component needs under dev's profile should go: it would hide a regression. Judged on
    the reference program, which has every component; whether the project's own program meets every relaxation is
    its own tests' business (tests/program/ for the sample)."""
    reported = {result.policy for result in evaluate(reference_program("dev"), "dev")}
    assert set(relaxed_rules("dev")) <= reported


@pytest.mark.parametrize("stack_file", ["dev", "prod"])
def test_config_files_decide_every_rule_and_relax_only_what_may_be_relaxed(stack_file):
    document = json.loads(config_path(stack_file).read_text())
    assert set(document) == RULES, "every rule has a decision in each committed config file"
    table = {info.name: info for info in rule_table(stack_file)}
    for name, info in table.items():
        if info.enforcement != "mandatory":
            assert info.relaxable in ("cost", "disposability"), f"{stack_file} relaxes {name}, which no stack may"
            assert len(info.reason or "") > 40, f"{stack_file} relaxes {name} without a written reason"


def test_dev_accepts_only_its_secrets_and_opt_in_monitoring_as_idle_cost_and_prod_only_what_it_chose():
    dev = load_config("dev")["no-unplanned-idle-cost"].properties["allowedIdleCosts"]
    assert dev == [SECRET, METRIC_ALARM, DASHBOARD], "alarms and a dashboard only when a team turns them on"
    prod = load_config("prod")["no-unplanned-idle-cost"].properties["allowedIdleCosts"]
    assert sorted(prod) == sorted(resolve_config({})["no-unplanned-idle-cost"].properties["allowedIdleCosts"])


def test_a_stack_without_a_config_file_gets_every_rule_mandatory():
    assert not config_path("staging").exists()
    assert {c.enforcement for c in load_config("staging").values()} == {"mandatory"}


def test_config_mistakes_are_refused():
    with pytest.raises(ValueError, match="do not exist"):
        resolve_config({"s3-versionning": "advisory"})
    with pytest.raises(ValueError, match="not an enforcement level"):
        resolve_config({"s3-versioning": "optional"})
    with pytest.raises(ValueError, match="declares"):
        resolve_config({"s3-versioning": {"enforcementLevel": "advisory", "because": "x"}})
    assert {c.enforcement for c in resolve_config({ALL: "advisory"}).values()} == {"advisory"}


def test_idle_cost_classification_is_the_one_offline_costs_uses(program_of, stack):
    program = program_of(stack)
    offline = [(c.urn, c.what, c.usd_per_month) for c in idle_costs(program)]
    pack = [
        (c.urn, c.what, c.usd_per_month) for c in idle_charges((r.urn, r.type, r.inputs) for r in program.resources)
    ]
    assert len(offline) == len(pack)
    for (urn, what, usd), (pack_urn, pack_what, pack_usd) in zip(offline, pack, strict=True):
        assert (urn, what) == (pack_urn, pack_what)
        assert math.isclose(usd, pack_usd) or (math.isnan(usd) and math.isnan(pack_usd))


def test_secret_names_are_judged_like_the_components_judge_them():
    names = ["DB_PASSWORD", "API_KEY", "SECRET_ARN", "GITHUB_TOKEN", "TOKEN_NAME", "TABLE_NAME", "aws_access_key",
             "PRIVATE_KEY_ID", "CREDENTIALS", "RENDITION_SIZES"]  # fmt: skip
    assert pack_secret_looking(names) == program_secret_looking(names)
