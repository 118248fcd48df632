"""A fork that deletes the sample, as the README says, keeps a working platform: the steps of "Delete the sample"
run in a copy of the repository, and what remains (with the starter program) synthesizes for every stack, passes
the policy pack, the review and every remaining test; the README's worked example of a new component ("Add a
component") is two files, and passes there too."""

import pytest
import yaml

from tests.template.copy import NESTED, copy_repository, explain, run, shell
from tests.template.readme import blocks_under, files_in

SAMPLE = ("app", "handlers", "bench", "tests/handlers", "tests/program", "tests/e2e")


def test_the_readme_shows_the_steps_and_the_worked_example():
    (steps,) = blocks_under("### Delete the sample", "sh")
    assert all(f" {path}" in steps.splitlines()[0] for path in SAMPLE)
    assert set(files_in(blocks_under("### Add a component", "python"))) == {
        "components/queue.py", "tests/components/test_queue.py",
    }  # fmt: skip


@pytest.mark.template
@pytest.mark.longest
def test_a_fork_without_the_sample_passes_its_own_tests_for_every_stack(tmp_path):
    copy = copy_repository(tmp_path)
    (steps,) = blocks_under("### Delete the sample", "sh")
    deleted = shell(copy, steps)
    assert deleted.returncode == 0, explain(deleted)
    assert not any((copy / path).exists() for path in SAMPLE)
    for stack in ("dev", "prod"):
        config = yaml.safe_load((copy / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert set(config) == {"aws:region", "platform:profile"}, stack

    for path, source in files_in(blocks_under("### Add a component", "python")).items():
        (copy / path).write_text(source.split("\n", 1)[1])
    packaged = shell(copy, "make package")
    assert packaged.returncode == 0, explain(packaged)
    assert '"platform:index:Queue"' in (copy / "components" / "schema.json").read_text()

    for lint in (["-m", "ruff", "check", "."], ["-m", "ruff", "format", "--check", "."]):
        linted = run(copy, *lint)
        assert linted.returncode == 0, explain(linted)
    tested = run(copy, "-m", "pytest", *NESTED, "-m", "not template")
    assert tested.returncode == 0, explain(tested)
    assert " passed" in tested.stdout
    for stack in ("dev", "prod"):
        review = run(copy, "-m", "review", "--stack", stack, "--quiet")
        assert review.returncode == 0, explain(review)
