"""EventBridge routes events as AWS does: the local cloud's pattern matching (moto's, with the adaptation
`eventbridge-pattern-arrays` in emulator/adaptations.py) against EventBridge's documented answers.

Each case is a pattern, an event and EventBridge's answer, with where that answer comes from. Where moto alone
answers otherwise, the case says so and shows it (the difference the adaptation exists for); the other cases pin
what moto already gets right ($or, anything-but, prefix, numeric, exists), so the adaptation cannot break them.
Sources: the EventBridge user guide's pages on arrays and content filtering (`ARRAYS`, `FILTERING`), and cases that
LocalStack's test suite checks against EventBridge's own TestEventPattern (`VALIDATED`, named as there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from moto.events.models import EventPattern

from emulator.adaptations import matches_event

ARRAYS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html"
FILTERING = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html"
VALIDATED = "AWS-validated case {} of localstack/localstack (tests/aws/services/events/event_pattern_templates)"
EVENT_RULER = "aws/event-ruler README, JSON Array Matching"


@dataclass(frozen=True)
class Case:
    pattern: dict[str, Any]
    event: dict[str, Any]
    aws: bool
    """Whether EventBridge routes the event to a rule with the pattern."""
    source: str


def envelope(**fields: Any) -> dict[str, Any]:
    """An event as a bus carries it (the envelope of the validated cases), with `fields` added or replaced."""
    return {"id": "1", "source": "test-source", "detail-type": "test-detail-type", "account": "123456789012",
            "region": "us-east-2", "time": "2022-07-13T13:48:01Z", **fields}  # fmt: skip


CONTAINERS = {"detail": {"containers": {"exitCode": [1]}}}
UNCLEAN = {"detail": {"containers": {"exitCode": [{"anything-but": [0, 2, 3]}]}}}
INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"
GROUP = ("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:"
         "autoScalingGroupName/ASGTerminate")  # fmt: skip
INSTANCES = {"resources": [INSTANCE, "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
                           "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}  # fmt: skip
EITHER_COUNT = {"detail": {"$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 10]}]},
                                   {"x-limit": [{"numeric": ["=", 3.018e2]}]}]}}  # fmt: skip
ALL_COUNTS = {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}],
                         "x-limit": [{"numeric": ["=", 3.018e2]}]}}  # fmt: skip
NOT_INITIALIZING = {"detail": {"state": [{"anything-but": "initializing"}]}}
STATE_EXISTS = {"detail": {"state": [{"exists": True}]}}

DIFFERENCES = {
    "a field of the objects in an array": Case(
        CONTAINERS, envelope(detail={"containers": [{"name": "log-router", "exitCode": 0},
                                                    {"name": "main", "exitCode": 1}]}),
        True, f"{ARRAYS}; {EVENT_RULER}"),
    "exists on a field of the objects in an array": Case(
        {"detail": {"automations": {"id": [{"exists": True}]}}},
        envelope(detail={"automations": [{"key1": "value1"}, {"id": "match-does-exist"}, {"key2": "value2"}]}),
        True, VALIDATED.format("list_within_dict")),
    "anything-but on a field of the objects in an array": Case(
        UNCLEAN, envelope(detail={"containers": [{"exitCode": 137}]}), True, f"{ARRAYS}; {EVENT_RULER}"),
    "objects in arrays of arrays": Case(
        {"employees": {"firstName": ["Anna"]}},
        envelope(employees=[[{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}],
                            [{"firstName": "Peter", "lastName": "Jones"}]]),
        True, EVENT_RULER),
    "an empty array does not exist": Case(
        {"resources": [{"exists": True}]}, envelope(resources=[]), False, VALIDATED.format("exists_list_empty_NEG")),
    "an empty array is absent": Case(
        {"resources": [{"exists": False}]}, envelope(resources=[]), True, f"{FILTERING} (leaf nodes only)"),
    "an empty object is not a leaf": Case(
        STATE_EXISTS, envelope(detail={"state": {}}), False, f"{FILTERING} (leaf nodes only)"),
}  # fmt: skip

AGREEMENTS = {
    "a value in an array of scalars": Case(
        INSTANCES, envelope(resources=[GROUP, INSTANCE]), True, VALIDATED.format("arrays")),
    "no value in an array of scalars": Case(
        INSTANCES, envelope(resources=[GROUP]), False, VALIDATED.format("arrays_NEG")),
    "null is not in an empty array": Case(
        {"resources": [None]}, envelope(resources=[]), False, VALIDATED.format("arrays_empty_null_NEG")),
    "$or, one branch matches": Case(
        EITHER_COUNT, envelope(detail={"c-count": 0, "d-count": 0, "x-limit": 9.018e2}), True,
        VALIDATED.format("complex_or")),
    "$or, no branch matches": Case(
        EITHER_COUNT, envelope(detail={"c-count": 0, "d-count": 10, "x-limit": 9.018e2}), False,
        VALIDATED.format("complex_or_NEG")),
    "anything-but a string": Case(
        NOT_INITIALIZING, envelope(detail={"state": "pending"}), True, VALIDATED.format("content_anything_but_string")),
    "anything-but a string, that string": Case(
        NOT_INITIALIZING, envelope(detail={"state": "initializing"}), False,
        VALIDATED.format("content_anything_but_string_NEG")),
    "anything-but a string, the field missing": Case(
        NOT_INITIALIZING, envelope(detail={}), False, VALIDATED.format("content_anything_but_string_missing_NEG")),
    "anything-but a string, null": Case(
        NOT_INITIALIZING, envelope(detail={"state": None}), True, VALIDATED.format("content_anything_but_string_null")),
    "anything-but a list of strings": Case(
        {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, envelope(detail={"state": "stopped"}),
        False, VALIDATED.format("content_anything_but_string_list_NEG")),
    "anything-but a number": Case(
        {"detail": {"x-limit": [{"anything-but": 123}]}}, envelope(detail={"x-limit": 789}), True,
        VALIDATED.format("content_anything_but_number")),
    "anything-but a number, that number": Case(
        {"detail": {"x-limit": [{"anything-but": 123}]}}, envelope(detail={"x-limit": 123}), False,
        VALIDATED.format("content_anything_but_number_NEG")),
    "anything-but zero": Case(
        {"detail": {"x-limit": [{"anything-but": 0}]}}, envelope(detail={"x-limit": 789}), True,
        VALIDATED.format("content_anything_but_number_zero")),
    "anything-but a list of numbers": Case(
        {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}, envelope(detail={"x-limit": 100}), False,
        VALIDATED.format("content_anything_but_number_list_NEG")),
    "anything-but a prefix": Case(
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, envelope(detail={"state": "post-init"}), True,
        VALIDATED.format("content_anything_prefix")),
    "anything-but a prefix, that prefix": Case(
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, envelope(detail={"state": "init-prefix"}),
        False, VALIDATED.format("content_anything_prefix_NEG")),
    "prefix": Case(
        {"time": [{"prefix": "2022-07-13"}]}, envelope(), True, VALIDATED.format("content_prefix")),
    "prefix, another one": Case(
        {"time": [{"prefix": "2022-07-99"}]}, envelope(), False, VALIDATED.format("content_prefix_NEG")),
    "numeric": Case(
        ALL_COUNTS, envelope(detail={"c-count": 3, "d-count": 9, "x-limit": 3.018e2}), True,
        VALIDATED.format("content_numeric_and")),
    "numeric, out of range": Case(
        ALL_COUNTS, envelope(detail={"c-count": 42, "d-count": 9, "x-limit": 3.018e2}), False,
        VALIDATED.format("content_numeric_and_NEG")),
    "numeric, a float and an integer": Case(
        {"number": [{"numeric": [">", 100]}]}, envelope(number=101.0), True, VALIDATED.format("numeric-int-float")),
    "numeric, a string": Case(
        {"number": [{"numeric": [">", 100]}]}, envelope(number="300"), False, VALIDATED.format("numeric-string_NEG")),
    "exists": Case(
        STATE_EXISTS, envelope(detail={"instance-id": "i-abcd1111", "state": "pending"}), True,
        VALIDATED.format("content_exists")),
    "exists, the field missing": Case(
        STATE_EXISTS, envelope(detail={"c-count": {"c1": 100}}), False, VALIDATED.format("content_exists_NEG")),
    "exists false": Case(
        {"detail": {"level1": {"level2:": {"level3": {"level4": [{"exists": False}]}}}}},
        envelope(detail={"level1": {"level2": "l2 value"}}), True, VALIDATED.format("content_exists_false")),
    "exists false, the field there": Case(
        {"detail": {"level1": {"level2": {"level3": {"level4": [{"exists": False}]}}}}},
        envelope(detail={"level1": {"level2": {"level3": {"level4": "l4 value"}}}}), False,
        VALIDATED.format("content_exists_false_NEG")),
}  # fmt: skip


def moto_alone(case: Case) -> bool:
    return EventPattern.load(json.dumps(case.pattern)).matches_event(case.event)


def adapted(case: Case) -> bool:
    return matches_event(EventPattern.load(json.dumps(case.pattern)), case.event)


@pytest.mark.parametrize("case", DIFFERENCES.values(), ids=DIFFERENCES.keys())
def test_where_moto_differs_the_local_cloud_answers_as_eventbridge(case):
    assert moto_alone(case) is not case.aws, f"moto alone now answers as EventBridge ({case.source})"
    assert adapted(case) is case.aws, f"EventBridge answers {case.aws} ({case.source})"


@pytest.mark.parametrize("case", AGREEMENTS.values(), ids=AGREEMENTS.keys())
def test_where_moto_agrees_the_local_cloud_still_answers_as_eventbridge(case):
    assert moto_alone(case) is case.aws, f"moto alone no longer answers as EventBridge ({case.source})"
    assert adapted(case) is case.aws, f"EventBridge answers {case.aws} ({case.source})"


def test_the_adaptation_changes_the_event_it_is_given_in_no_way():
    event = envelope(detail={"containers": [{"exitCode": 1}], "empty": [], "nested": {}})
    before = json.dumps(event, sort_keys=True)
    matches_event(EventPattern.load(json.dumps(CONTAINERS)), event)
    assert json.dumps(event, sort_keys=True) == before
