"""The worst-case duration of a definition, and the Workflow's refusal of an Express definition that cannot fit
five minutes."""

import json

import pytest

from components.budget import worst_case
from components.function import Function, FunctionArgs
from components.profile import EnvironmentProfile, LambdaSettings, RetrySettings, WorkflowSettings, WorkflowType
from components.states import Definition, DefinitionError, Succeed
from components.workflow import Workflow, WorkflowArgs
from synth.program import SynthesisError
from tests.helpers import DISPOSABLE, run, tiny_code


def task(timeout: float, next: str | None = None, retry: list[dict] | None = None, catch: list[str] = ()) -> dict:
    state = {"Type": "Task", "Resource": "arn", "TimeoutSeconds": timeout, "Retry": retry or []}
    state["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": target} for target in catch]
    return state | ({"Next": next} if next else {"End": True})


def test_a_task_costs_every_attempt_at_its_timeout_plus_every_wait_at_its_cap():
    retrier = {"ErrorEquals": ["X"], "IntervalSeconds": 2, "MaxAttempts": 4, "BackoffRate": 3.0, "MaxDelaySeconds": 10}
    case = worst_case({"StartAt": "T", "States": {"T": task(5, retry=[retrier])}})
    assert case.seconds == 5 * 5 + (2 + 6 + 10 + 10)
    assert case.explain() == "T 53 s (5 x 5 s + 28 s of retry waits)"


def test_errors_may_alternate_between_retriers_so_their_attempts_add_up():
    first = {"ErrorEquals": ["A"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.0}
    second = {"ErrorEquals": ["B"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1.0}
    assert worst_case({"StartAt": "T", "States": {"T": task(10, retry=[first, second])}}).seconds == 6 * 10 + 5


def test_aws_defaults_apply_to_a_retrier_that_leaves_them_out():
    """IntervalSeconds 1, BackoffRate 2.0, MaxAttempts 3 and no cap: 1 + 2 + 4 s of waits."""
    assert worst_case({"StartAt": "T", "States": {"T": task(1, retry=[{"ErrorEquals": ["A"]}])}}).seconds == 4 + 7


def test_the_longest_path_counts_including_what_a_catch_leads_to():
    states = {
        "Route": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Slow"}],
                  "Default": "Fast"},
        "Slow": task(100, next="Done", catch=["Record"]),
        "Fast": task(1, next="Done"),
        "Record": task(7, next="Failed"),
        "Failed": {"Type": "Fail"},
        "Done": {"Type": "Succeed"},
    }  # fmt: skip
    case = worst_case({"StartAt": "Route", "States": states})
    assert case.seconds == 107
    assert [step.state for step in case.path if step.seconds] == ["Slow", "Record"]


def test_a_task_without_a_timeout_has_no_bound():
    with pytest.raises(DefinitionError, match=r"\['T'\] have no TimeoutSeconds"):
        worst_case({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn", "End": True}}})


def test_a_loop_has_no_bound():
    states = {"A": task(1, next="B"), "B": {"Type": "Choice", "Choices": [], "Default": "A"}}
    with pytest.raises(DefinitionError, match=r"\['A', 'B', 'A'\] form a loop"):
        worst_case({"StartAt": "A", "States": states})


def slow_lambda_flow(tmp_path, workflow_type):
    profile = EnvironmentProfile(
        lambda_=LambdaSettings(timeout_seconds=100), workflow=WorkflowSettings(retry=RetrySettings(max_attempts=2))
    )

    def build():
        function = Function("work", FunctionArgs(profile=DISPOSABLE.args, code=tiny_code(tmp_path),
                                                 handler="app.main.handler",
                                                 timeout_seconds=profile.lambda_.timeout_seconds))  # fmt: skip
        definition = Definition(start_at="Work", states=[function.invoke_task("Work", next="Done"), Succeed("Done")])
        Workflow("flow", WorkflowArgs(profile=profile.args, **definition.workflow_args(profile), type=workflow_type))

    return build


def test_an_express_workflow_that_can_outlive_five_minutes_is_refused_before_anything_is_declared(tmp_path):
    with pytest.raises(SynthesisError, match=r"'flow' is EXPRESS.*can run 339 s.*Work 339 s \(3 x 111 s") as refused:
        run(slow_lambda_flow(tmp_path, WorkflowType.EXPRESS))
    assert "lambda.timeoutSeconds" in str(refused.value), "the message says which setting to change"
    assert not any(r.type == "aws:sfn/stateMachine:StateMachine" for r in refused.value.declared)


def test_a_standard_execution_is_bounded_by_its_worst_case(tmp_path):
    synthesis = run(slow_lambda_flow(tmp_path, WorkflowType.STANDARD))
    definition = json.loads(synthesis.one("aws:sfn/stateMachine:StateMachine").inputs["definition"])
    # The function's 100 s, a cold start's INIT (up to 10 s, outside the timeout) and a second for its own error
    assert definition["States"]["Work"]["TimeoutSeconds"] == 111
    assert definition["TimeoutSeconds"] == 339
