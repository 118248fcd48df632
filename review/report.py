"""The review report of one stack, in GitHub-flavoured Markdown (it is posted as a job summary on pull requests).

Sections, most decisive first: a summary table, the policy results, the resource graph, who may do what, the
idle cost, the cost per million images with its assumptions and price sources, and the full resource tree of the
offline preview (collapsed).
"""

import dataclasses
from collections.abc import Iterator

from policy.rules.prices import PRICE_REGION, PRICES_AS_OF
from review import graph, iam, policies, preview
from review.assumptions import Assumptions
from review.costs import idle_costs
from review.markdown import code, details, fenced, number, table, usd
from review.per_image import Estimate, LineItem, estimate
from review.policies import PolicyOutcome
from review.workload import WorkloadError
from synth.program import Synthesis

NOT_INCLUDED = (
    "storage (GB-month of originals, renditions, logs and backups) and data transfer out of AWS",
    "Lambda's INIT phase on cold starts, retries, refused or failed images, and the dead-letter queue",
    "CloudWatch metrics and Container Insights, VPC flow logs, ECR storage, interface endpoints' per-GB charge",
)


def build_report(synthesis: Synthesis, assumptions: Assumptions, outcome: PolicyOutcome) -> str:
    """The whole report. The cost model's refusal of an unmodelled definition is shown, not raised: the rest of
    the review is still worth reading."""
    try:
        per_image: Estimate | str = estimate(synthesis, assumptions)
    except WorkloadError as error:
        per_image = str(error)
    lines = [f"# Review of stack `{synthesis.stack}`", ""]
    lines += _summary(synthesis, outcome, per_image)
    lines += ["", "## Policy results", "", *policies.section(outcome)]
    lines += ["", "## Resource graph", "", *_graph(synthesis)]
    lines += ["", "## Who may do what (IAM)", "", *_iam(synthesis)]
    lines += ["", "## Idle cost", "", *_idle(synthesis)]
    lines += ["", "## Cost per million images", "", *_per_image(per_image)]
    lines += ["", "## Resource tree", "", *details("offline <code>pulumi preview</code>",
                                                  fenced(preview.render(synthesis), "text"))]  # fmt: skip
    return "\n".join(lines) + "\n"


def _summary(synthesis: Synthesis, outcome: PolicyOutcome, per_image: Estimate | str) -> list[str]:
    custom = [r for r in synthesis.resources if r.custom and not r.is_provider]
    components = [r for r in synthesis.resources if not r.custom]
    provider = next((r for r in synthesis.resources if r.type == "pulumi:providers:aws"), None)
    idle = sum(cost.usd_per_month for cost in idle_costs(synthesis))
    rows = [
        ["resources", f"{len(custom)} in {len(components)} components"],
        ["region", code(str(provider.inputs.get("region"))) if provider else "?"],
        ["policy pack", policies.summary(outcome)],
        ["idle cost", f"{usd(idle)}/month" if idle else "none: nothing is billed by the hour"],
        ["per million images", usd(per_image.total_per_million) if isinstance(per_image, Estimate) else "not modelled"],
    ]  # fmt: skip
    return table(["", f"`{synthesis.stack}`"], rows)


def _graph(synthesis: Synthesis) -> list[str]:
    note = graph.quiet_note(synthesis)
    intro = "Components are boxes; an arrow means the resource uses the other one (a dependency, or its ARN or name"
    intro += " in the inputs, policies and definitions included)."
    return [intro, "", *fenced("\n".join(graph.mermaid(synthesis)), "mermaid"), *(["", note] if note else [])]


def _iam(synthesis: Synthesis) -> list[str]:
    lines = ["### Roles", "", *iam.roles_table(synthesis)]
    resource_policies = iam.resource_policies_table(synthesis)
    if resource_policies:
        lines += ["", "### Resource policies", "", *resource_policies]
    return lines


def _idle(synthesis: Synthesis) -> list[str]:
    costs = idle_costs(synthesis)
    if not costs:
        return ["Nothing in this stack is billed by the hour: with no traffic it costs only storage."]
    by_urn = {r.urn: r for r in synthesis.resources}
    rows = [[code(by_urn[c.urn].name), c.what, usd(c.usd_per_month), c.source] for c in costs]
    total = sum(c.usd_per_month for c in costs)
    return [*table(["resource", "billed", "per month", "price source"], rows), "",
            f"**Total: {usd(total)}/month** before any traffic (prices from `policy/rules/prices.py`)."]  # fmt: skip


def _per_image(per_image: Estimate | str) -> list[str]:
    if isinstance(per_image, str):
        return [f"_The cost model cannot follow this stack's workflows: {per_image}_"]
    rows = [[item.what, number(item.quantity), f"[{item.price.label}]({item.price.source})",
             usd(item.per_million), item.note] for item in _costliest_first(per_image)]  # fmt: skip
    rows.append(["**total**", "", "", f"**{usd(per_image.total_per_million)}**", ""])
    lines = [f"{usd(per_image.total_per_million)} per million images with this stack's settings: "
             f"{1 - per_image.assumptions.heavy_share:.0%} rendered in Lambda, "
             f"{per_image.assumptions.heavy_share:.0%} on the Fargate path.", ""]  # fmt: skip
    lines += table(["item", "per image", "unit price (source)", "per 1M images", "note"], rows)
    lines += ["", *(f"- {note}" for note in per_image.notes)]
    prices_note = f"Prices: AWS list prices for {PRICE_REGION} as of {PRICES_AS_OF} (`policy/rules/prices.py`; "
    prices_note += "this stack's region may differ by a few percent). Not included: " + "; ".join(NOT_INCLUDED)
    lines += ["", prices_note + "."]
    lines += ["", *details("Assumptions", list(_assumption_rows(per_image.assumptions)))]
    return lines


def _costliest_first(per_image: Estimate) -> list[LineItem]:
    """What to look at first when the total surprises: the biggest lines at the top."""
    return sorted(per_image.items, key=lambda item: -item.per_million)


def _assumption_rows(assumptions: Assumptions) -> Iterator[str]:
    rows = [[code(f.name), _value(getattr(assumptions, f.name)), f.metadata.get("why", "")]
            for f in dataclasses.fields(assumptions)]  # fmt: skip
    rows.append([code("S3 and DynamoDB calls"), "measured",
                 "per handler, under moto on the benchmark's 12 MP photo (`review/assumptions.py`)"])  # fmt: skip
    yield from table(["assumption", "value", "why"], rows)


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
