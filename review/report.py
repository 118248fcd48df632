"""The review report of one stack, in GitHub-flavoured Markdown (it is posted as a job summary on pull requests).

Sections, most decisive first: a summary table, the policy results, the resource graph, who may do what, what
watches the stack and whom it tells (operations), the idle cost, the application's own sections if it adds any
(review/extension.py), and the full resource tree of the offline preview (collapsed).
"""

from review import graph, iam, operations, policies, preview
from review.costs import idle_costs
from review.extension import NO_SECTIONS, AppSections
from review.markdown import code, details, fenced, table, usd
from review.policies import PolicyOutcome
from synth.program import Synthesis


def build_report(synthesis: Synthesis, outcome: PolicyOutcome, app: AppSections = NO_SECTIONS) -> str:
    """The whole report: the platform's sections, with the application's (`review.extension.app_sections`) after
    the idle cost."""
    lines = [f"# Review of stack `{synthesis.stack}`", ""]
    lines += _summary(synthesis, outcome, app)
    lines += ["", "## Policy results", "", *policies.section(outcome)]
    lines += ["", "## Resource graph", "", *_graph(synthesis)]
    lines += ["", "## Who may do what (IAM)", "", *_iam(synthesis)]
    lines += ["", "## Operations", "", *operations.section(synthesis)]
    lines += ["", "## Idle cost", "", *_idle(synthesis)]
    for section in app.sections:
        lines += ["", f"## {section.title}", "", *section.lines]
    lines += ["", "## Resource tree", "", *details("offline <code>pulumi preview</code>",
                                                  fenced(preview.render(synthesis), "text"))]  # fmt: skip
    return "\n".join(lines) + "\n"


def _summary(synthesis: Synthesis, outcome: PolicyOutcome, app: AppSections) -> list[str]:
    custom = [r for r in synthesis.resources if r.custom and not r.is_provider]
    components = [r for r in synthesis.resources if not r.custom]
    provider = next((r for r in synthesis.resources if r.type == "pulumi:providers:aws"), None)
    idle = sum(cost.usd_per_month for cost in idle_costs(synthesis))
    rows = [
        ["resources", f"{len(custom)} in {len(components)} components"],
        ["region", code(str(provider.inputs.get("region"))) if provider else "?"],
        ["policy pack", policies.summary(outcome)],
        ["idle cost", f"{usd(idle)}/month" if idle else "none: nothing is billed by the hour"],
        *([what, value] for what, value in app.summary),
    ]
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
