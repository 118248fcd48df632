"""What one image makes the workflows do, read from the synthesized state machine definitions.

The cost model must not restate the workflows by hand: when a state is added, its transition, its log events and
the service it calls must show up in the cost. So each path an image can take is walked through the definition the
stack really declares, from the EventBridge target's state machine, into any workflow a `states:startExecution`
task hands over to.

A path is chosen at each Choice by the values assumed for its variables (e.g. `$.validation.route: lambda`);
a Choice whose variables are not assumed follows its Default. A route may also assume that a task raises an error
(a refusal): the first task on the path that catches it by name takes that Catch. Retries are not walked: the cost
model prices them from each task's Retry, which a step carries.
"""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from synth.program import RecordedResource, Synthesis

STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
START_EXECUTION = "arn:aws:states:::states:startExecution"
WALKED_TYPES = frozenset({"Task", "Choice", "Pass", "Wait", "Succeed", "Fail"})
"""Map and Parallel would need a share of items or branches per image: refused rather than guessed."""
COMPARATORS = ("StringEquals", "NumericEquals", "BooleanEquals")


class WorkloadError(ValueError):
    """A definition the walker cannot follow; the message names the state and what to change."""


@dataclass(frozen=True)
class Step:
    """One state entered on the path: a state transition, and for a Task, one call of its service."""

    state: str
    type: str
    resource: str
    parameters: Mapping[str, Any]
    retriers: tuple[Mapping[str, Any], ...] = ()
    """The state's Retry: what a transient error makes it do again."""
    raised: str | None = None
    """The error this task raised on the route (its Catch took the path on), or None when it succeeded."""

    @property
    def is_task(self) -> bool:
        return self.type == "Task"


@dataclass(frozen=True)
class Route:
    """A path an image takes: the share of images on it, the Choice variables that hold on it, and the errors a
    task raises on it (a refusal), if any."""

    share: float
    choices: Mapping[str, Any]
    raises: tuple[str, ...] = ()


@dataclass(frozen=True)
class Execution:
    """One execution of one state machine, the route whose images run it, and their share."""

    machine: RecordedResource
    steps: tuple[Step, ...]
    share: float
    route: str
    handed_over: bool = False
    """Started by another workflow (`states:startExecution`) rather than by the event rule."""

    @property
    def workflow_type(self) -> str:
        return str(self.machine.inputs.get("type", "STANDARD"))

    @property
    def failed(self) -> bool:
        """The path ends in a Fail state: the execution fails (what level ERROR and FATAL logs)."""
        return bool(self.steps) and self.steps[-1].type == "Fail"


def entry_machines(synthesis: Synthesis) -> list[RecordedResource]:
    """The state machines that EventBridge rules start: where an upload's work begins."""
    machines = {m.outputs.get("arn"): m for m in synthesis.of_type(STATE_MACHINE)}
    targets = [t.inputs.get("arn") for t in synthesis.of_type(EVENT_TARGET)]
    return [machines[arn] for arn in targets if arn in machines]


def executions(synthesis: Synthesis, routes: Mapping[str, Route]) -> list[Execution]:
    """Every execution an image causes, for each route (by name). Hand-overs to another state machine keep the
    route and its share."""
    found: list[Execution] = []
    for name, route in routes.items():
        for machine in entry_machines(synthesis):
            found.extend(_execute(synthesis, machine, name, route, depth=0))
    return found


def _execute(
    synthesis: Synthesis, machine: RecordedResource, name: str, route: Route, depth: int
) -> Iterator[Execution]:
    if depth > len(synthesis.of_type(STATE_MACHINE)):
        raise WorkloadError(f"{machine.name}: state machines hand over to each other in a cycle")
    steps = tuple(happy_path(definition_of(machine.inputs), route.choices, machine.name, route.raises))
    yield Execution(machine, steps, route.share, name, handed_over=depth > 0)
    for step in steps:
        if step.resource == START_EXECUTION:
            child = _machine_by_arn(synthesis, str(step.parameters.get("StateMachineArn", "")), machine, step)
            yield from _execute(synthesis, child, name, route, depth + 1)


def definition_of(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A state machine's definition from its inputs, as a new dict the caller may change."""
    definition = inputs.get("definition")
    return json.loads(definition if isinstance(definition, str) else json.dumps(definition or {}))


def happy_path(
    definition: Mapping[str, Any], choices: Mapping[str, Any], where: str = "definition", raises: tuple[str, ...] = ()
) -> list[Step]:
    """The states entered from StartAt to the first Succeed, Fail or End, choosing by `choices`; the first task
    that catches one of `raises` by name raises it and takes that Catch."""
    states: Mapping[str, Any] = definition.get("States", {})
    name = definition.get("StartAt")
    path: list[Step] = []
    while name is not None:
        if len(path) > len(states):
            raise WorkloadError(f"{where}: the path loops through {name!r}; assume a Choice value that leaves it")
        state = states.get(name)
        if state is None:
            raise WorkloadError(f"{where}: a transition goes to {name!r}, which is not a state")
        if state.get("Type") not in WALKED_TYPES:
            raise WorkloadError(
                f"{where}: state {name!r} is a {state.get('Type')}; the cost model walks "
                f"{', '.join(sorted(WALKED_TYPES))} (extend app/review/workload.py with a share per branch or item)"
            )
        raised, catch = _caught(state, raises)
        path.append(Step(name, state["Type"], str(state.get("Resource", "")), state.get("Parameters") or {},
                         tuple(state.get("Retry", ())), raised))  # fmt: skip
        if raised:
            raises, name = (), catch
        else:
            name = _next(state, choices, where, name)
    return path


def _caught(state: Mapping[str, Any], raises: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(the error, the Catch's next state) when this task catches one of `raises` by name, else (None, None)."""
    if state.get("Type") != "Task":
        return None, None
    for catch in state.get("Catch", []):
        named = [error for error in raises if error in catch.get("ErrorEquals", [])]
        if named:
            return named[0], catch["Next"]
    return None, None


def _next(state: Mapping[str, Any], choices: Mapping[str, Any], where: str, name: str) -> str | None:
    if state["Type"] in ("Succeed", "Fail") or state.get("End"):
        return None
    if state["Type"] != "Choice":
        return state["Next"]
    for rule in state.get("Choices", []):
        if _holds(rule, choices):
            return rule["Next"]
    if "Default" not in state:
        raise WorkloadError(f"{where}: Choice {name!r} has no rule for {dict(choices)} and no Default")
    return state["Default"]


def _holds(rule: Mapping[str, Any], choices: Mapping[str, Any]) -> bool:
    """A rule holds when every comparison in it (an `And` of them, e.g. IsPresent then StringEquals) holds for the
    assumed values; a variable that is not assumed holds nothing."""
    if "And" in rule:
        return all(_holds(part, choices) for part in rule["And"])
    variable = rule.get("Variable")
    if variable not in choices:
        return False
    if rule.get("IsPresent") is True:
        return True
    comparator = next((c for c in COMPARATORS if c in rule), None)
    return comparator is not None and choices[variable] == rule[comparator]


def _machine_by_arn(synthesis: Synthesis, arn: str, parent: RecordedResource, step: Step) -> RecordedResource:
    for machine in synthesis.of_type(STATE_MACHINE):
        if machine.outputs.get("arn") == arn:
            return machine
    raise WorkloadError(f"{parent.name}: {step.state} starts {arn!r}, which this stack does not declare")
