"""The Mermaid graph: components as subgraphs, the resources a reader thinks in, and who uses whom."""

import re

from review.graph import mermaid, quiet_note
from tests.conftest import synthesized

NODE = re.compile(r"^\s+(n\d+)[\[\({/]")
EDGE = re.compile(r"^\s+(n\d+) --> (n\d+)$")


def parsed(stack):
    lines = mermaid(synthesized(stack))
    labels = {}
    for line in lines:
        match = NODE.match(line)
        if match:
            labels[match.group(1)] = re.search(r'"([^"<]+)<br/>', line).group(1)
    edges = {(labels[a], labels[b]) for a, b in (EDGE.match(line).groups() for line in lines if EDGE.match(line))}
    return lines, labels, edges


def test_the_flowchart_is_well_formed(stack):
    lines, labels, _ = parsed(stack)
    assert lines[0] == "flowchart LR"
    assert sum(line.strip().startswith("subgraph ") for line in lines) == sum(line.strip() == "end" for line in lines)
    ids = [EDGE.match(line).groups() for line in lines if EDGE.match(line)]
    assert all(a in labels and b in labels for a, b in ids), "every arrow joins declared nodes"
    assert len(set(labels.values())) == len(labels), "each resource drawn once"


def test_components_are_subgraphs_holding_their_resources():
    lines = mermaid(synthesized("dev"))
    members = {}
    current = None
    for line in lines:
        if line.strip().startswith("subgraph "):
            current = re.search(r'\["(.+)"\]', line).group(1)
        elif line.strip() == "end":
            current = None
        elif current and NODE.match(line):
            members.setdefault(current, []).append(re.search(r'"([^"<]+)<br/>', line).group(1))
    assert members["uploads (Bucket)"] == ["uploads-bucket"]
    assert members["worker (FargateTask)"] == ["worker-task-definition", "worker-repository"]
    assert members["on-upload (ObjectCreatedTrigger)"] == ["on-upload-rule", "on-upload-dlq"]
    assert all("migrate-catalog-now" not in names for names in members.values()), "top-level resources stay outside"


def test_arrows_follow_the_pipeline(stack):
    _, _, edges = parsed(stack)
    expected = {
        ("on-upload-rule", "process-upload-state-machine"),  # the event target
        ("on-upload-rule", "uploads-bucket"),  # the event pattern names the bucket
        ("process-upload-state-machine", "validate-function"),  # a task of the definition
        ("process-upload-state-machine", "heavy-path-state-machine"),  # the hand-over
        ("heavy-path-state-machine", "worker-task-definition"),
        ("render-function", "results-bucket"),  # a grant (role policy) drawn as the function
        ("worker-task-definition", "images-table"),
    }
    assert expected <= edges, sorted(expected - edges)
    assert ("uploads-bucket", "render-function") not in edges, "arrows point from user to used"


def test_the_key_is_a_note_not_a_dozen_arrows():
    _, labels, edges = parsed("prod")
    assert "data-key" in labels.values()
    assert not [edge for edge in edges if edge[1] == "data-key"]
    assert "every encrypted resource uses it" in quiet_note(synthesized("prod"))
    assert quiet_note(synthesized("dev")) is None, "dev has no customer-managed key"
