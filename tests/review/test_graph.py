"""The Mermaid graph: components as subgraphs, the resources a reader thinks in, and who uses whom. Drawn for each
stack's own program and for the reference program (tests/reference.py), whose resources the tests name."""

import re

import pytest

from review.graph import mermaid, quiet_note
from tests.conftest import synthesized
from tests.reference import reference_program

NODE = re.compile(r"^\s+(n\d+)[\[\({/]")
EDGE = re.compile(r"^\s+(n\d+) --> (n\d+)$")


def parsed(synthesis):
    lines = mermaid(synthesis)
    labels = {}
    for line in lines:
        match = NODE.match(line)
        if match:
            labels[match.group(1)] = re.search(r'"([^"<]+)<br/>', line).group(1)
    edges = {(labels[a], labels[b]) for a, b in (EDGE.match(line).groups() for line in lines if EDGE.match(line))}
    return lines, labels, edges


@pytest.mark.parametrize("program_of", [synthesized, reference_program], ids=["program", "reference"])
def test_the_flowchart_is_well_formed(program_of, stack):
    lines, labels, _ = parsed(program_of(stack))
    assert lines[0] == "flowchart LR"
    assert sum(line.strip().startswith("subgraph ") for line in lines) == sum(line.strip() == "end" for line in lines)
    ids = [EDGE.match(line).groups() for line in lines if EDGE.match(line)]
    assert all(a in labels and b in labels for a, b in ids), "every arrow joins declared nodes"
    assert len(set(labels.values())) == len(labels), "each resource drawn once"


def subgraph_members(synthesis):
    """Component label -> the resources drawn inside its subgraph, in order."""
    members = {}
    current = None
    for line in mermaid(synthesis):
        if line.strip().startswith("subgraph "):
            current = re.search(r'\["(.+)"\]', line).group(1)
        elif line.strip() == "end":
            current = None
        elif current and NODE.match(line):
            members.setdefault(current, []).append(re.search(r'"([^"<]+)<br/>', line).group(1))
    return members


def test_components_are_subgraphs_holding_their_resources():
    members = subgraph_members(reference_program("dev"))
    assert members["inbox (Bucket)"] == ["inbox-bucket"]
    assert members["batch (FargateTask)"] == ["batch-task-definition", "batch-repository"]
    assert members["on-arrival (ObjectCreatedTrigger)"] == ["on-arrival-rule", "on-arrival-dlq"]
    assert members["ledger (ServerlessDatabase)"] == ["ledger-cluster"]
    _, labels, _ = parsed(reference_program("dev"))
    assert "migrate-now" in labels.values(), "a resource of the program's own is drawn"
    assert all("migrate-now" not in names for names in members.values()), "top-level resources stay outside"


def test_arrows_point_from_user_to_used(stack):
    _, _, edges = parsed(reference_program(stack))
    expected = {
        ("on-arrival-rule", "intake-state-machine"),  # the event target
        ("on-arrival-rule", "inbox-bucket"),  # the event pattern names the bucket
        ("intake-state-machine", "check-function"),  # a task of the definition
        ("intake-state-machine", "long-run-state-machine"),  # the hand-over
        ("long-run-state-machine", "batch-task-definition"),
        ("long-run-state-machine", "ledger-cluster"),  # a Data API task
        ("convert-function", "outbox-bucket"),  # a grant (role policy) drawn as the function
        ("batch-task-definition", "jobs-table"),
    }
    assert expected <= edges, sorted(expected - edges)
    assert ("inbox-bucket", "convert-function") not in edges, "arrows point from user to used"


def test_the_key_is_a_note_not_a_dozen_arrows():
    _, labels, edges = parsed(reference_program("prod"))
    assert "data-key" in labels.values()
    assert not [edge for edge in edges if edge[1] == "data-key"]
    assert "every encrypted resource uses it" in quiet_note(reference_program("prod"))
    assert quiet_note(reference_program("dev")) is None, "dev has no customer-managed key"
