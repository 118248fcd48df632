"""What moves the cost per million images most, computed: each lever varies one assumption or one setting the stack
declares, the model prices the varied stack again (app/review/per_image.py), and the report ranks the levers by
what they save. A lever that does not apply to a stack (its setting is already there) is left out.

A declared setting is varied on a copy of the synthesized resources, so the lever's figure comes from the same
walk of the same definitions as the stack's own; the copy is never deployed and nothing else reads it.
"""

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.review.assumptions import LAMBDA_MB_PER_VCPU, Assumptions
from app.review.per_image import DATA_API, Estimate, estimate
from app.review.retention import LIFECYCLE, expiration_days, uploads
from app.review.workload import definition_of
from synth.program import Synthesis

STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
FUNCTION = "aws:lambda/function:Function"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
TRANSITIONS = ("StartAt", "Next", "Default")
"""The keys of a definition that name the state to go to (in Choices and Catchers too, where "Next" is the key)."""
ONE_VCPU = 1024
"""Fargate CPU units of one vCPU."""
UPLOAD_DAYS = 1
"""The shortest expiration a lifecycle rule allows: originals kept one day, long enough to render and retry."""


@dataclass(frozen=True)
class Variant:
    """The stack and the assumptions with one lever pulled, and what was changed, in words."""

    change: str
    synthesis: Synthesis
    assumptions: Assumptions


@dataclass(frozen=True)
class Effect:
    lever: str
    change: str
    per_million: float
    """The cost per million images with the lever pulled."""
    saving: float
    """Per million images, against the stack as declared: negative when the lever costs more."""


Lever = Callable[[Synthesis, Assumptions], Variant | None]


def effects(synthesis: Synthesis, assumptions: Assumptions, baseline: Estimate) -> list[Effect]:
    """Every lever that applies to the stack, the one that saves most first."""
    found = []
    for name, lever in LEVERS.items():
        variant = lever(synthesis, assumptions)
        if variant is not None:
            varied = estimate(variant.synthesis, variant.assumptions).total_per_million
            found.append(Effect(name, variant.change, varied, baseline.total_per_million - varied))
    return sorted(found, key=lambda effect: -effect.saving)


def _cold_starts(synthesis: Synthesis, assumptions: Assumptions) -> Variant | None:
    if not assumptions.cold_start_share:
        return None
    change = (f"cold-start share {assumptions.cold_start_share:.1%} -> 0 (steady traffic; provisioned concurrency "
              "would remove them too, billed by the hour instead)")  # fmt: skip
    return Variant(change, synthesis, dataclasses.replace(assumptions, cold_start_share=0.0))


def _heavy_share(synthesis: Synthesis, assumptions: Assumptions) -> Variant | None:
    if not assumptions.heavy_share:
        return None
    change = (f"heavy share {assumptions.heavy_share:.1%} -> 0: every accepted upload rendered in Lambda (a larger "
              "Lambda memory raises the route's threshold; uploads of 12 MP photos only never leave it)")  # fmt: skip
    return Variant(change, synthesis, dataclasses.replace(assumptions, heavy_share=0.0))


def _history_level(synthesis: Synthesis, assumptions: Assumptions) -> Variant | None:
    varied = _with_logging(synthesis, "level", "ALL", "ERROR")
    change = ("execution history at level ERROR instead of ALL: failed executions only (profile "
              "workflow.history.level: ERROR, where the stack's sfn-logging config allows it)")  # fmt: skip
    return Variant(change, varied, assumptions) if varied else None


def _execution_data(synthesis: Synthesis, assumptions: Assumptions) -> Variant | None:
    varied = _with_logging(synthesis, "includeExecutionData", True, False)
    change = ("execution history without execution data: each event keeps its type, state and time, not the state's "
              "JSON (profile workflow.history.includeExecutionData: false)")  # fmt: skip
    return Variant(change, varied, assumptions) if varied else None


def _with_logging(synthesis: Synthesis, key: str, declared: object, varied: object) -> Synthesis | None:
    """A copy of `synthesis` whose state machines that log with `key` at `declared` log with it at `varied`."""

    def logging_varied(inputs: dict[str, Any]) -> dict[str, Any] | None:
        logging = inputs.get("loggingConfiguration") or {}
        return {**inputs, "loggingConfiguration": {**logging, key: varied}} if logging.get(key) == declared else None

    return _with_inputs(synthesis, STATE_MACHINE, logging_varied)


def _catalog(synthesis: Synthesis, assumptions: Assumptions) -> Variant | None:
    """The workflows as `pipeline:settings.catalog: false` declares them: each Data API insert left out, whatever
    went to it going where it went next (its failure states stay, never entered on the priced paths)."""

    def without_insert(inputs: dict[str, Any]) -> dict[str, Any] | None:
        definition = definition_of(inputs)
        states = definition.get("States", {})
        inserts = {name: state.get("Next") for name, state in states.items() if state.get("Resource") == DATA_API}
        if not inserts or None in inserts.values():
            return None  # an insert that ends the workflow has nowhere else to go: not a shape the program declares
        for name in inserts:
            del states[name]
        return {**inputs, "definition": json.dumps(_redirected(definition, inserts))}

    varied = _with_inputs(synthesis, STATE_MACHINE, without_insert)
    change = ("no Aurora catalog (pipeline:settings.catalog: false): the images table keeps every record; the "
              "cluster's hours while it runs go too, which this per-image figure does not count")  # fmt: skip
    return Variant(change, varied, assumptions) if varied else None


def _redirected(node: Any, targets: Mapping[str, str]) -> Any:
    """`node` (a definition or a part of one) with every transition to a state of `targets` going to its target."""
    if isinstance(node, list):
        return [_redirected(item, targets) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: targets.get(value, value) if key in TRANSITIONS and isinstance(value, str)
            else _redirected(value, targets) for key, value in node.items()}  # fmt: skip


def _lambda_memory(synthesis: Synthesis, assumptions: Assumptions) -> Variant | None:
    """Down to one vCPU when above it (the single-threaded core gains nothing there), else halved."""
    declared = {int(f.inputs["memorySize"]) for f in synthesis.of_type(FUNCTION)}
    if len(declared) != 1:
        return None
    memory = declared.pop()
    smaller = LAMBDA_MB_PER_VCPU if memory > LAMBDA_MB_PER_VCPU else memory // 2
    varied = _with_inputs(synthesis, FUNCTION, lambda inputs: {**inputs, "memorySize": smaller})
    change = (f"Lambda memory {memory:,} -> {smaller:,} MB (heavy share held: a smaller Lambda sends more large "
              "uploads to Fargate, which this figure does not count)")  # fmt: skip
    return Variant(change, varied, assumptions) if varied else None


def _fargate_vcpu(synthesis: Synthesis, assumptions: Assumptions) -> Variant | None:
    def one_vcpu(inputs: dict[str, Any]) -> dict[str, Any] | None:
        return {**inputs, "cpu": str(ONE_VCPU)} if int(inputs["cpu"]) > ONE_VCPU else None

    varied = _with_inputs(synthesis, TASK_DEFINITION, one_vcpu)
    change = "Fargate task at 1 vCPU, memory unchanged (the worker's render is single-threaded)"
    return Variant(change, varied, assumptions) if varied else None


def _upload_days(synthesis: Synthesis, assumptions: Assumptions) -> Variant | None:
    """Originals expired after a day by the uploads bucket's lifecycle (pipeline:settings.uploadExpirationDays)."""
    bucket, prefix = uploads(synthesis)
    kept = expiration_days(synthesis, bucket, prefix)
    if bucket is None or (kept is not None and kept <= UPLOAD_DAYS) or assumptions.storage_days <= UPLOAD_DAYS:
        return None
    rule = {"id": "expire-uploads", "status": "Enabled", "filter": {"prefix": prefix},
            "expiration": {"days": UPLOAD_DAYS}}  # fmt: skip

    def expiring(inputs: dict[str, Any]) -> dict[str, Any] | None:
        if inputs.get("bucket") != bucket.inputs.get("bucket"):
            return None
        return {**inputs, "rules": [*(r for r in inputs.get("rules", []) if not r.get("expiration")), rule]}

    varied = _with_inputs(synthesis, LIFECYCLE, expiring)
    before = f"{kept} days" if kept else f"without expiration ({assumptions.storage_days} days priced)"
    change = (f"originals kept {before} -> {UPLOAD_DAYS} day (pipeline:settings.uploadExpirationDays: {UPLOAD_DAYS}; "
              "the renditions stay)")  # fmt: skip
    return Variant(change, varied, assumptions) if varied else None


def _with_inputs(
    synthesis: Synthesis, type_token: str, change: Callable[[dict[str, Any]], Mapping[str, Any] | None]
) -> Synthesis | None:
    """A copy of `synthesis` whose resources of `type_token` have the inputs `change` gives them (None: as they
    are); None when no resource changed."""
    resources, changed = [], False
    for resource in synthesis.resources:
        inputs = change(resource.inputs) if resource.type == type_token else None
        if inputs is not None and inputs != resource.inputs:
            resource, changed = dataclasses.replace(resource, inputs=dict(inputs)), True
        resources.append(resource)
    return dataclasses.replace(synthesis, resources=resources) if changed else None


LEVERS: dict[str, Lever] = {
    "cold starts": _cold_starts,
    "heavy share": _heavy_share,
    "execution history level": _history_level,
    "execution history data": _execution_data,
    "Lambda memory": _lambda_memory,
    "Fargate task size": _fargate_vcpu,
    "storage of originals": _upload_days,
    "Aurora catalog": _catalog,
}
"""Every lever, by name: each returns the stack and assumptions with it pulled, or None when it does not apply."""
