"""The paths an image takes through the state machines, read from the definitions the stacks declare."""

import pytest

from app.review.per_image import ROUTE_VARIABLE
from app.review.workload import Route, WorkloadError, entry_machines, executions, happy_path
from handlers.pipeline.contract import REFUSALS
from tests.conftest import synthesized

ROUTES = {
    "lambda": Route(0.8, {ROUTE_VARIABLE: "lambda"}),
    "fargate": Route(0.1, {ROUTE_VARIABLE: "fargate"}),
    "refused": Route(0.1, {}, raises=REFUSALS[:1]),
}


def _states(steps):
    return [step.state for step in steps]


def test_the_rule_starts_the_upload_workflow(stack):
    assert [m.name for m in entry_machines(synthesized(stack))] == ["process-upload-state-machine"]


def test_each_route_walks_its_states_and_hands_over_to_the_heavy_path(stack):
    walked = [
        (e.route, e.machine.name, e.share, _states(e.steps), e.handed_over)
        for e in executions(synthesized(stack), ROUTES)
    ]
    assert walked == [
        ("lambda", "process-upload-state-machine", 0.8, ["Process", "ChooseRoute", "Catalog", "Done"], False),
        ("fargate", "process-upload-state-machine", 0.1, ["Process", "ChooseRoute", "HandToFargate",
                                                          "HandedToFargate"], False),
        ("fargate", "heavy-path-state-machine", 0.1, ["RunWorker", "Catalog", "Done"], True),
        ("refused", "process-upload-state-machine", 0.1, ["Process", "Rejected"], False),
    ]  # fmt: skip


def test_a_refusal_takes_the_first_catch_that_names_it_and_fails_the_execution(stack):
    walked = {e.route: e for e in executions(synthesized(stack), ROUTES) if not e.handed_over}
    assert [step.raised for step in walked["refused"].steps] == [REFUSALS[0], None]
    assert walked["refused"].failed, "Rejected is a Fail state"
    assert not walked["lambda"].failed
    assert all(step.retriers for step in walked["lambda"].steps if step.is_task), "every task retries"


def test_an_error_no_catch_names_leaves_the_path_as_it_was():
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Done",
                     "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Oops"}]},
            "Done": {"Type": "Succeed"},
            "Oops": {"Type": "Fail"},
        },
    }  # fmt: skip
    assert _states(happy_path(definition, {}, raises=("Refused",))) == ["Work", "Done"]


def test_a_choice_without_an_assumed_value_takes_its_default():
    definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": "a", "Next": "A"}],
                     "Default": "B"},
            "A": {"Type": "Succeed"},
            "B": {"Type": "Pass", "End": True},
        },
    }  # fmt: skip
    assert _states(happy_path(definition, {"$.x": "a"})) == ["Pick", "A"]
    assert _states(happy_path(definition, {})) == ["Pick", "B"]


def test_a_loop_on_the_happy_path_is_refused_with_the_state_named():
    definition = {"StartAt": "Again", "States": {"Again": {"Type": "Pass", "Next": "Again"}}}
    with pytest.raises(WorkloadError, match="loops through 'Again'"):
        happy_path(definition, {}, "looping")


def test_a_map_state_is_refused_rather_than_guessed():
    definition = {"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": True}}}
    with pytest.raises(WorkloadError, match="state 'Each' is a Map"):
        happy_path(definition, {})


def test_a_transition_to_a_missing_state_is_named():
    definition = {"StartAt": "First", "States": {"First": {"Type": "Pass", "Next": "Gone"}}}
    with pytest.raises(WorkloadError, match="goes to 'Gone'"):
        happy_path(definition, {})
