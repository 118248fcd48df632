"""The `cloudwatch-alarms-notify` rule (policy/rules/monitoring.py): once the alarm topic has subscribers, every
resource that can fail is watched by an alarm that notifies, and every alarm notifies the stack's own topics. Run
over prod's program and bad copies of it, over dev with its alarms turned on, and through the pack as the CLI
serves it (dependencies as the engine sends them)."""

import copy
import json

import pytest
from pulumi.output import Unknown
from pulumi.runtime.proto import analyzer_pb2

from policy.evaluate import evaluate
from policy.rules.idle import DASHBOARD, METRIC_ALARM
from policy.rules.monitoring import SUBSCRIPTION, TOPIC
from synth.program import Synthesis, stack_config, synthesize
from tests.policy.fixtures import changed, find, name_of, violations
from tests.policy.test_pack import _cli_config, _struct, served_pack  # noqa: F401  (served_pack: a fixture)
from tests.reference import reference_program

RULE = "cloudwatch-alarms-notify"
OTHER_TOPIC = "arn:aws:sns:eu-west-1:444455556666:someone-elses-topic"


def prod() -> Synthesis:
    return reference_program("prod")


def caught(program: Synthesis, stack: str = "prod") -> list:
    return violations(evaluate(program, stack), RULE)


def without_alarms_on(program: Synthesis, name: str) -> Synthesis:
    """A copy of `program` without the alarms that depend on resource `name`."""
    urn = find(program, name).urn
    copied = copy.deepcopy(program)
    copied.resources = [r for r in copied.resources if not (r.type == METRIC_ALARM and urn in r.dependencies)]
    assert len(copied.resources) < len(program.resources), f"no alarm depends on {name}"
    return copied


def test_prod_has_subscribers_and_every_watchable_resource_passes():
    assert prod().of_type(SUBSCRIPTION), "prod's profile names an address: the rule applies"
    assert len(prod().of_type(METRIC_ALARM)) > 20
    assert caught(prod()) == []


def test_a_function_without_its_alarms_fails_naming_it():
    found = caught(without_alarms_on(prod(), "convert-function"))
    assert [name_of(r.urn) for r in found] == ["convert-function"]
    assert found[0].enforcement == "mandatory"
    assert "function 'convert-function' is watched by no alarm that notifies" in found[0].message
    assert "watch()" in found[0].message, "the finding says what to do"


@pytest.mark.parametrize(
    "name", ["intake-state-machine", "on-arrival-dlq", "jobs-table", "ledger-cluster", "on-arrival-rule"]
)
def test_each_kind_of_resource_without_its_alarms_fails(name):
    assert [name_of(r.urn) for r in caught(without_alarms_on(prod(), name))] == [name]


def test_the_worker_is_watched_by_its_failure_rule_and_fails_without_it():
    rule = "operations-batch-task-failed"
    unwatched = copy.deepcopy(prod())
    unwatched.resources = [r for r in unwatched.resources if r.name not in (rule, f"{rule}-target")]
    found = caught(unwatched)
    assert [name_of(r.urn) for r in found] == ["batch-task-definition"]
    assert "EventBridge rule to a topic" in found[0].message


def test_rules_that_deliver_to_the_topic_are_alerts_and_need_no_alarm():
    alerts = [r.name for r in prod().of_type("aws:cloudwatch/eventRule:EventRule") if r.name.startswith("operations-")]
    assert alerts
    urns = {find(prod(), name).urn for name in alerts}
    assert not any(urns & set(alarm.dependencies) for alarm in prod().of_type(METRIC_ALARM))


def test_an_alarm_that_notifies_another_topic_fails_naming_the_alarm_and_the_topic():
    found = caught(changed(prod(), "operations-convert-errors", alarmActions=[OTHER_TOPIC]))
    assert [(name_of(r.urn), OTHER_TOPIC in r.message) for r in found] == [("operations-convert-errors", True)]
    assert "not a topic of this stack" in found[0].message


def test_an_alarm_without_ok_actions_fails():
    found = caught(changed(prod(), "operations-convert-errors", okActions=[]))
    assert [name_of(r.urn) for r in found] == ["operations-convert-errors"]
    assert "sends OK to nobody: set ok_actions" in found[0].message


def test_an_alarm_without_alarm_actions_does_not_watch_its_resource():
    alarms = [a.name for a in prod().of_type(METRIC_ALARM) if find(prod(), "check-function").urn in a.dependencies]
    program = prod()
    for alarm in alarms:
        program = changed(program, alarm, alarmActions=[])
    found = {name_of(r.urn) for r in caught(program)}
    assert found == {"check-function", *alarms}


def test_actions_not_known_in_a_preview_are_skipped_not_reported():
    program = changed(prod(), "operations-convert-errors", alarmActions=[Unknown()], okActions=Unknown())
    assert caught(program) == []


def test_a_stack_without_subscriptions_is_not_checked():
    quiet = copy.deepcopy(prod())
    quiet.resources = [r for r in quiet.resources if r.type not in (SUBSCRIPTION, METRIC_ALARM)]
    assert caught(quiet) == []
    assert caught(reference_program("dev"), "dev") == [], "dev's profile turns alarms off"


def dev_with_alarms() -> Synthesis:
    config = dict(stack_config("dev"))
    profile = json.loads(config["platform:profile"])
    profile["monitoring"] = {**profile["monitoring"], "alarms": True, "dashboard": True}
    config["platform:profile"] = json.dumps(profile)
    return synthesize("dev", config=config)


def test_dev_may_turn_its_alarms_and_dashboard_on():
    """Dev's config accepts the alarms' and dashboard's idle cost; without a subscription the alarms are not
    checked for notifying anyone (dev's profile names no address)."""
    program = dev_with_alarms()
    assert program.of_type(METRIC_ALARM)
    assert program.of_type(DASHBOARD)
    assert program.of_type(TOPIC)
    blocking = [f"{r.policy} {r.urn}: {r.message}" for r in evaluate(program, "dev") if r.enforcement == "mandatory"]
    assert blocking == []


def _resource(kind: str, name: str, props: dict, dependencies: list[str] = (), **property_dependencies: list[str]):
    urn = f"urn:pulumi:prod::image-pipeline::{kind}::{name}"
    return analyzer_pb2.AnalyzerResource(
        type=kind,
        urn=urn,
        name=name,
        properties=_struct(props),
        dependencies=list(dependencies),
        propertyDependencies={
            key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns) for key, urns in property_dependencies.items()
        },
    )


TOPIC_ARN = "arn:aws:sns:eu-west-1:444455556666:alarms"
FUNCTION_URN = "urn:pulumi:prod::image-pipeline::aws:lambda/function:Function::render"


ERRORS = {"metricName": "Errors", "namespace": "AWS/Lambda", "dimensions": {"FunctionName": "not-the-name"},
          "alarmActions": [TOPIC_ARN], "okActions": [TOPIC_ARN]}  # fmt: skip
"""An alarm on a function's errors whose dimension does not name it by value: only the dependency can."""


def _stack(alarm_dependencies: dict) -> list:
    """A function, the alarm topic with a subscriber, and an alarm on the function, as the engine hands them to
    AnalyzeStack (an alarm whose dimension is the function's name output depends on the function)."""
    return [
        _resource("aws:lambda/function:Function", "render", {"name": "render-fn"}),
        _resource(TOPIC, "alarms", {"arn": TOPIC_ARN, "name": "alarms"}),
        _resource(SUBSCRIPTION, "email", {"topic": TOPIC_ARN, "protocol": "email", "endpoint": "ops@example.com"}),
        _resource(METRIC_ALARM, "render-errors", ERRORS, **alarm_dependencies),
    ]


def test_the_served_pack_reads_the_engines_dependencies(served_pack):  # noqa: F811
    served_pack.Configure(_cli_config({RULE: "mandatory"}), timeout=30)

    def analyzed(resources: list) -> list[tuple[str, str]]:
        response = served_pack.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources), timeout=30)
        return [(d.urn, d.message) for d in response.diagnostics if d.policyName == RULE]

    assert analyzed(_stack({"dependencies": [FUNCTION_URN]})) == []
    assert analyzed(_stack({"dimensions": [FUNCTION_URN]})) == [], "property dependencies count too"
    found = analyzed(_stack({}))
    assert [urn for urn, _ in found] == [FUNCTION_URN]
    assert "function 'render' is watched by no alarm that notifies" in found[0][1]
