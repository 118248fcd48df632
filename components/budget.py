"""How long a workflow definition can run, read from its rendered Amazon States Language.

An Express execution is stopped at five minutes with nothing recorded, and a Standard one that waits on a hung task
bills for as long as it waits. Both are prevented the same way: every Task carries `TimeoutSeconds`, and the worst
case of the whole definition follows from it.

    a task's worst case = TimeoutSeconds x (1 + the MaxAttempts of all its retriers) + every retry wait at its cap
    a definition's      = the longest path from StartAt, through Next, Catch and Choice targets

Retriers are summed because errors may alternate between them; each wait is `IntervalSeconds x BackoffRate^n`
capped by `MaxDelaySeconds`, taken in full (full jitter only ever shortens a wait). Catch targets count after the
task's every attempt has failed. A loop would make the worst case unbounded and is refused.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.states import DefinitionError

EXPRESS_LIMIT_SECONDS = 300
"""Express executions are stopped after five minutes."""


@dataclass(frozen=True)
class Step:
    state: str
    seconds: float
    explanation: str


@dataclass(frozen=True)
class WorstCase:
    seconds: float
    path: tuple[Step, ...]

    def explain(self) -> str:
        return ", ".join(f"{step.state} {step.seconds:g} s ({step.explanation})" for step in self.path if step.seconds)


def worst_case(definition: Mapping[str, Any]) -> WorstCase:
    """The longest any execution of the rendered definition can run; DefinitionError if it has no bound."""
    states: Mapping[str, Mapping[str, Any]] = definition["States"]
    unbounded = [name for name, state in states.items() if state["Type"] == "Task" and not state.get("TimeoutSeconds")]
    if unbounded:
        raise DefinitionError(
            f"states {sorted(unbounded)} have no TimeoutSeconds, so nothing bounds how long they can run; give every "
            "task a timeout (a hung call would otherwise hold the execution, and bill, until the workflow's limit)"
        )
    return _longest(states, definition["StartAt"], {}, ())


def _longest(
    states: Mapping[str, Mapping[str, Any]], name: str, known: dict[str, WorstCase], visiting: tuple[str, ...]
) -> WorstCase:
    if name in visiting:
        raise DefinitionError(f"states {[*visiting[visiting.index(name) :], name]} form a loop: no bound on duration")
    if name not in known:
        state = states[name]
        step = _step(name, state)
        after = [_longest(states, target, known, (*visiting, name)) for target in _targets(state)]
        longest = max(after, key=lambda case: case.seconds, default=WorstCase(0, ()))
        known[name] = WorstCase(step.seconds + longest.seconds, (step, *longest.path))
    return known[name]


INSTANT = frozenset({"Choice", "Pass", "Succeed", "Fail"})
"""States that take no time of their own. Map, Parallel and Wait are refused until the budget knows their share."""


def _step(name: str, state: Mapping[str, Any]) -> Step:
    if state["Type"] in INSTANT:
        return Step(name, 0, state["Type"].lower())
    if state["Type"] != "Task":
        raise DefinitionError(f"state {name!r} is a {state['Type']}, whose duration components/budget.py cannot bound")
    timeout = float(state["TimeoutSeconds"])
    retriers = state.get("Retry", [])
    attempts = 1 + sum(int(retrier.get("MaxAttempts", 3)) for retrier in retriers)
    waits = sum(_waits(retrier) for retrier in retriers)
    explanation = f"{attempts} x {timeout:g} s" + (f" + {waits:g} s of retry waits" if waits else "")
    return Step(name, attempts * timeout + waits, explanation)


def _waits(retrier: Mapping[str, Any]) -> float:
    """Every wait of one retrier at its longest (AWS's defaults: 1 s, rate 2.0, 3 attempts, no cap)."""
    interval = float(retrier.get("IntervalSeconds", 1))
    rate = float(retrier.get("BackoffRate", 2.0))
    cap = float(retrier.get("MaxDelaySeconds", math.inf))
    return sum(min(interval * rate**attempt, cap) for attempt in range(int(retrier.get("MaxAttempts", 3))))


def _targets(state: Mapping[str, Any]) -> list[str]:
    targets = [catch["Next"] for catch in state.get("Catch", [])]
    targets += [rule["Next"] for rule in state.get("Choices", [])]
    targets += [state[key] for key in ("Next", "Default") if key in state]
    return targets
