"""What one image makes the workflows do, read from the synthesized state machine definitions.

The cost model must not restate the workflows by hand: when a state is added, its transition, its log events and
the service it calls must show up in the cost. So each path an image can take is walked through the definition the
stack really declares, from the EventBridge target's state machine, into any workflow a `states:startExecution`
task hands over to.

A path is chosen at each Choice by the values assumed for its variables (e.g. `$.validation.route: lambda`);
a Choice whose variables are not assumed follows its Default. Only the happy path is walked: retries and
failures are not part of what a million successful images cost.
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

    @property
    def is_task(self) -> bool:
        return self.type == "Task"


@dataclass(frozen=True)
class Execution:
    """One execution of one state machine, and the share of images that run it."""

    machine: RecordedResource
    steps: tuple[Step, ...]
    share: float
    handed_over: bool = False
    """Started by another workflow (`states:startExecution`) rather than by the event rule."""

    @property
    def workflow_type(self) -> str:
        return str(self.machine.inputs.get("type", "STANDARD"))


def entry_machines(synthesis: Synthesis) -> list[RecordedResource]:
    """The state machines that EventBridge rules start: where an upload's work begins."""
    machines = {m.outputs.get("arn"): m for m in synthesis.of_type(STATE_MACHINE)}
    targets = [t.inputs.get("arn") for t in synthesis.of_type(EVENT_TARGET)]
    return [machines[arn] for arn in targets if arn in machines]


def executions(synthesis: Synthesis, routes: Mapping[str, tuple[float, Mapping[str, Any]]]) -> list[Execution]:
    """Every execution an image causes, for each route: `routes` maps a name to (share of images, the Choice
    variables that hold on that route). Hand-overs to another state machine keep the route's share."""
    found: list[Execution] = []
    for share, choices in routes.values():
        for machine in entry_machines(synthesis):
            found.extend(_execute(synthesis, machine, share, choices, depth=0))
    return found


def _execute(
    synthesis: Synthesis, machine: RecordedResource, share: float, choices: Mapping[str, Any], depth: int
) -> Iterator[Execution]:
    if depth > len(synthesis.of_type(STATE_MACHINE)):
        raise WorkloadError(f"{machine.name}: state machines hand over to each other in a cycle")
    steps = tuple(happy_path(definition_of(machine), choices, machine.name))
    yield Execution(machine, steps, share, handed_over=depth > 0)
    for step in steps:
        if step.resource == START_EXECUTION:
            child = _machine_by_arn(synthesis, str(step.parameters.get("StateMachineArn", "")), machine, step)
            yield from _execute(synthesis, child, share, choices, depth + 1)


def definition_of(machine: RecordedResource) -> dict[str, Any]:
    definition = machine.inputs.get("definition")
    return json.loads(definition) if isinstance(definition, str) else dict(definition or {})


def happy_path(definition: Mapping[str, Any], choices: Mapping[str, Any], where: str = "definition") -> list[Step]:
    """The states entered from StartAt to the first Succeed, Fail or End, choosing by `choices`."""
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
        path.append(Step(name, state["Type"], str(state.get("Resource", "")), state.get("Parameters") or {}))
        name = _next(state, choices, where, name)
    return path


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
