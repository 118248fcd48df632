"""The policy pack's results for the stack, from `policy.evaluate` (the same policies `pulumi preview
--policy-pack policy` runs, applied to the mock-recorded resources).

The pack is imported when the report is built, not when this module is: until `policy/evaluate.py` exists the
report says so instead of failing, and an import error inside the pack itself still fails loudly.
"""

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from review.markdown import code, details, table
from review.names import short
from synth.program import Synthesis

EVALUATE_MODULE = "policy.evaluate"
ENFORCEMENT_ORDER = ("mandatory", "advisory", "disabled")


@dataclass(frozen=True)
class PolicyOutcome:
    available: bool
    results: Sequence[Any] = field(default_factory=tuple)
    """PolicyResult(policy, severity, enforcement, urn, message, remediation): one per violation."""

    def count(self, enforcement: str) -> int:
        return sum(1 for result in self.results if _enforcement(result) == enforcement)


def evaluate(synthesis: Synthesis, stack: str) -> PolicyOutcome:
    try:
        module = importlib.import_module(EVALUATE_MODULE)
    except ModuleNotFoundError as error:
        if error.name in ("policy", EVALUATE_MODULE):
            return PolicyOutcome(available=False)
        raise
    return PolicyOutcome(available=True, results=tuple(module.evaluate(synthesis, stack)))


def summary(outcome: PolicyOutcome) -> str:
    if not outcome.available:
        return "policy pack not available"
    if not outcome.results:
        return "no violations"
    counts = [f"{outcome.count(level)} {level}" for level in ENFORCEMENT_ORDER if outcome.count(level)]
    return ", ".join(counts) + (" violation" if len(outcome.results) == 1 else " violations")


def section(outcome: PolicyOutcome) -> list[str]:
    """Mandatory violations one by one (they block `pulumi up`); the others grouped by rule and collapsed, since
    each is allowed in this stack with a written reason."""
    if not outcome.available:
        return [f"_Policy pack not available: `{EVALUATE_MODULE}` cannot be imported in this checkout._"]
    if not outcome.results:
        return ["Every policy of the pack passes for every resource of this stack."]
    results = sorted(outcome.results, key=_order)
    blocking = [r for r in results if _enforcement(r) == "mandatory"]
    allowed = [r for r in results if _enforcement(r) != "mandatory"]
    lines = [summary(outcome) + "."]
    if blocking:
        rows = [[_text(r.severity).lower(), code(_text(r.policy)), _where(r), _text(r.message), _text(r.remediation)]
                for r in blocking]  # fmt: skip
        lines += ["", "**Mandatory** (these block `pulumi up`):", "",
                  *table(["severity", "policy", "resource", "violation", "remediation"], rows)]  # fmt: skip
    if allowed:
        lines += ["", *details(f"{len(allowed)} allowed in this stack (advisory or disabled), by policy",
                               _grouped(allowed))]  # fmt: skip
    return lines


def _grouped(results: Sequence[Any]) -> list[str]:
    """One row per rule: every resource it flags, and the first violation's text (the stack's reason included)."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for result in results:
        groups.setdefault((_enforcement(result), _text(result.policy)), []).append(result)
    rows = [[enforcement, code(policy), ", ".join(dict.fromkeys(_name(r) for r in members)), _text(members[0].message),
             _text(members[0].remediation)] for (enforcement, policy), members in groups.items()]  # fmt: skip
    return table(["enforcement", "policy", "resources", "violation (first)", "remediation"], rows)


def _where(result: Any) -> str:
    """The resource at fault, or the stack itself for a stack-level rule (no URN)."""
    return code(short(_text(result.urn))) if result.urn else "the stack"


def _name(result: Any) -> str:
    """Just the resource's name: a grouped row lists many, and the rule already says what type they are."""
    return code(_text(result.urn).rsplit("::", 1)[-1]) if result.urn else "the stack"


def _order(result: Any) -> tuple[int, str, str]:
    enforcement = _enforcement(result)
    rank = ENFORCEMENT_ORDER.index(enforcement) if enforcement in ENFORCEMENT_ORDER else len(ENFORCEMENT_ORDER)
    return rank, _text(result.policy), _text(result.urn)


def _enforcement(result: Any) -> str:
    return _text(result.enforcement).lower()


def _text(value: Any) -> str:
    """Enums (severity, enforcement) by their value: `EnforcementLevel.MANDATORY` reads `mandatory`."""
    value = getattr(value, "value", value)
    return "" if value is None else str(value)
