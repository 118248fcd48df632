"""Every alarm and failure event of the sample's stacks links to a section of docs/runbook.md."""

from tests.components.test_runbook import ALARM, runbook_anchors, runbook_links
from tests.conftest import synthesized


def test_every_alarm_of_the_sample_has_a_runbook_section():
    program = synthesized("prod")
    links = runbook_links(program)
    assert {r.name for r in program.of_type(ALARM)} <= set(links)
    assert "operations-application-images-failed" in links
    assert not {name: anchor for name, anchor in links.items() if anchor not in runbook_anchors()}
