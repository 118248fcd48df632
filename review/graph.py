"""The resource graph as a Mermaid flowchart: one subgraph per component, its main resources inside, and an arrow
wherever a resource of one component uses one of another.

A hundred resources with every edge would be unreadable, so only the resources a reader thinks in (buckets,
tables, functions, state machines, the rule, the task, the database) are drawn. Everything else (roles, policies,
log groups, bucket settings) speaks for the main resource of its component: a role policy of `process` that grants
access to the images table is drawn as `process-function --> images-table`. An edge comes from a recorded
dependency or from an ARN or name of the other resource inside the inputs (policies and definitions included).
"""

from collections.abc import Iterator
from dataclasses import dataclass

from review.names import ArnIndex
from synth.program import RecordedResource, Synthesis

KEY_TYPES: dict[str, tuple[str, str]] = {
    "aws:cloudwatch/eventRule:EventRule": ("rule", "{{{{{}}}}}"),
    "aws:sfn/stateMachine:StateMachine": ("state machine", "[[{}]]"),
    "aws:lambda/function:Function": ("Lambda", "[{}]"),
    "aws:ecs/taskDefinition:TaskDefinition": ("Fargate task", "[{}]"),
    "aws:s3/bucket:Bucket": ("bucket", "[({})]"),
    "aws:dynamodb/table:Table": ("table", "[({})]"),
    "aws:sqs/queue:Queue": ("queue", "[({})]"),
    "aws:rds/cluster:Cluster": ("Aurora", "[({})]"),
    "aws:ecr/repository:Repository": ("ECR", "[({})]"),
    "aws:ec2/vpc:Vpc": ("VPC", "[{}]"),
    "aws:kms/key:Key": ("KMS key", "[{}]"),
    "aws:lambda/invocation:Invocation": ("invocation", "[/{}/]"),
}
"""The resources drawn, in order of preference for a component's main resource, with their Mermaid shape."""
QUIET_TARGETS = frozenset({"aws:kms/key:Key"})
"""Every encrypted resource uses the key: one note instead of an arrow from each."""


@dataclass(frozen=True)
class Node:
    resource: RecordedResource
    id: str

    @property
    def text(self) -> str:
        kind, shape = KEY_TYPES[self.resource.type]
        return shape.format(f'"{_escape(self.resource.name)}<br/>{kind}"')


def mermaid(synthesis: Synthesis) -> list[str]:
    """The flowchart's lines (without the code fence)."""
    layout = _Layout(synthesis)
    lines = ["flowchart LR"]
    for number, (component, members) in enumerate(layout.groups()):
        if component is None:
            lines += [f"  {node.id}{node.text}" for node in members]
            continue
        title = f"{component.name} ({component.type.rsplit(':', 1)[-1]})"
        lines.append(f'  subgraph c{number}["{_escape(title)}"]')
        lines += [f"    {node.id}{node.text}" for node in members]
        lines.append("  end")
    lines += [f"  {a.id} --> {b.id}" for a, b in layout.edges()]
    return lines


def quiet_note(synthesis: Synthesis) -> str | None:
    """The sentence that stands for the arrows left out."""
    keys = [r.name for r in synthesis.resources if r.type in QUIET_TARGETS]
    if not keys:
        return None
    return f"Arrows into the KMS key ({', '.join(keys)}) are left out: every encrypted resource uses it."


class _Layout:
    """The drawn nodes of one synthesis, and which component each resource belongs to (computed once)."""

    def __init__(self, synthesis: Synthesis) -> None:
        self.synthesis = synthesis
        self.known = {r.urn: r for r in synthesis.resources}
        self.index = ArnIndex.of(synthesis)
        chosen = sorted((r for r in synthesis.resources if r.type in KEY_TYPES), key=_rank)
        self.nodes = {r.urn: Node(r, f"n{number}") for number, r in enumerate(chosen)}
        self.component = {r.urn: self._outermost_component(r) for r in synthesis.resources}
        self.main: dict[str, Node] = {}
        for node in self.nodes.values():  # nodes are in rank order: the first of a component is its main one
            owner = self.component[node.resource.urn]
            if owner is not None:
                self.main.setdefault(owner, node)

    def groups(self) -> list[tuple[RecordedResource | None, list[Node]]]:
        """Top-level nodes first, then one group per component, ordered by their main resource."""
        grouped: dict[str | None, list[Node]] = {}
        for node in self.nodes.values():
            grouped.setdefault(self.component[node.resource.urn], []).append(node)
        ordered = sorted(grouped.items(), key=lambda item: (item[0] is not None, _rank(item[1][0].resource)))
        return [(self.known[urn] if urn else None, members) for urn, members in ordered]

    def edges(self) -> list[tuple[Node, Node]]:
        """Distinct arrows between drawn resources of different components, in a stable order."""
        found: set[tuple[str, str]] = set()
        for resource in self.synthesis.resources:
            source = self.drawn_as(resource)
            if source is None:
                continue
            for target in self._used_by(resource):
                drawn = self.drawn_as(target)
                if drawn is None or drawn.resource.type in QUIET_TARGETS:
                    continue
                if self.component[drawn.resource.urn] != self.component[source.resource.urn]:
                    found.add((source.resource.urn, drawn.resource.urn))
        ordered = sorted(found, key=lambda pair: (_rank(self.known[pair[0]]), _rank(self.known[pair[1]])))
        return [(self.nodes[a], self.nodes[b]) for a, b in ordered]

    def drawn_as(self, resource: RecordedResource) -> Node | None:
        """The node a resource is drawn as: itself, or the main resource of its component."""
        if resource.urn in self.nodes:
            return self.nodes[resource.urn]
        owner = self.component.get(resource.urn)
        return self.main.get(owner) if owner else None

    def _used_by(self, resource: RecordedResource) -> Iterator[RecordedResource]:
        yield from (self.known[urn] for urn in resource.dependencies if urn in self.known)
        yield from self.index.mentions(resource.inputs)

    def _outermost_component(self, resource: RecordedResource) -> str | None:
        """The outermost component above a resource (None for resources declared at the top level)."""
        outermost = None
        current = self.known.get(resource.parent)
        while current is not None:
            if not current.custom:
                outermost = current.urn
            current = self.known.get(current.parent)
        return outermost


def _rank(resource: RecordedResource) -> tuple[int, str]:
    order = list(KEY_TYPES)
    return (order.index(resource.type) if resource.type in KEY_TYPES else len(order)), resource.name


def _escape(text: str) -> str:
    return text.replace('"', "#quot;")
