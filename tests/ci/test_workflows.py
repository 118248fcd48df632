"""The GitHub Actions workflows: actionlint finds nothing, and the properties the project relies on hold (forks
get no cloud preview, prod waits for its environment, every action is pinned)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"


def actionlint() -> str:
    """The actionlint binary of the venv (requirements-dev.txt) or, failing that, of the PATH."""
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if not found:
        pytest.fail("actionlint is not installed: `make test` installs it from requirements-dev.txt")
    return found


def lint(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [actionlint(), "-oneline", "-no-color", "-config-file", str(GITHUB / "actionlint.yaml"), *map(str, files)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def workflow(name: str) -> dict:
    document = yaml.safe_load((GITHUB / "workflows" / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as true
    return document


def uses_lines() -> list[str]:
    lines = []
    for path in [*WORKFLOWS, *ACTIONS]:
        lines += [line.split("uses:", 1)[1].strip() for line in path.read_text().splitlines() if "uses:" in line]
    return lines


def test_actionlint_finds_nothing():
    assert WORKFLOWS, "no workflows found"
    result = lint(*WORKFLOWS)
    assert not result.stdout, f"actionlint:\n{result.stdout}"
    assert result.returncode == 0, result.stderr


def test_actionlint_does_catch_a_broken_workflow(tmp_path):
    """Proves the test above can fail: an unknown variable and a bad expression are findings."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ vars.AWS_ROLE_ARNN }} ${{ github.event.nope( }}\n"
    )
    result = lint(broken)
    assert result.returncode == 1
    assert "AWS_ROLE_ARNN" in result.stdout.upper()


def test_every_action_is_pinned_to_a_commit_with_its_release_tag():
    remote = [use for use in uses_lines() if not use.startswith("./")]
    assert remote
    unpinned = [use for use in remote if not PINNED.match(use)]
    assert not unpinned, f"pin these by commit SHA, with the tag as a comment: {unpinned}"


def test_pull_requests_preview_every_stack_with_the_policy_pack_but_not_from_forks():
    jobs = workflow("pull-request.yml")["jobs"]
    preview = jobs["preview"]
    assert FORK_GUARD in preview["if"]
    assert preview["permissions"]["id-token"] == "write"
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    step = next(s for s in preview["steps"] if s.get("uses") == "./.github/actions/pulumi")
    assert step["with"]["command"] == "preview"
    assert step["with"]["comment-on-pr"] == "true"
    review = jobs["test-and-review"]
    assert "if" not in review, "the test suite and the offline review run for forks too"
    script = "\n".join(s.get("run", "") for s in review["steps"])
    assert "make test" in script
    assert 'make --silent review STACK="${stack%.yaml}" >> "$GITHUB_STEP_SUMMARY"' in script


def test_the_shared_action_runs_the_policy_pack_with_the_stack_config_and_oidc():
    action = yaml.safe_load((GITHUB / "actions" / "pulumi" / "action.yml").read_text())
    steps = action["runs"]["steps"]
    credentials = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert credentials["with"]["role-to-assume"] == "${{ inputs.role-to-assume }}"
    pulumi = next(s for s in steps if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["policyPacks"] == "policy"
    assert pulumi["with"]["policyPackConfigs"] == "${{ steps.settings.outputs.policy-config }}"
    settings = next(s for s in steps if s.get("id") == "settings")
    assert "policy-config=policy/$STACK.json" in settings["run"]


def test_main_deploys_dev_then_prod_behind_the_production_environment():
    jobs = workflow("deploy.yml")["jobs"]
    assert workflow("deploy.yml")["on"]["push"]["branches"] == ["main"]
    assert jobs["prod"]["needs"] == "dev"
    assert jobs["prod"]["environment"] == "production"
    for name, job in jobs.items():
        assert job["concurrency"]["cancel-in-progress"] is False, f"{name}: never cancel a running update"
        assert job["permissions"]["id-token"] == "write"
        step = next(s for s in job["steps"] if s.get("uses") == "./.github/actions/pulumi")
        assert (step["with"]["command"], step["with"]["stack"]) == ("up", name)


def test_the_drift_check_refreshes_and_expects_no_changes_for_every_stack():
    document = workflow("drift.yml")
    assert document["on"]["schedule"]
    drift = document["jobs"]["drift"]
    assert drift["concurrency"]["group"] == "pulumi-drift-${{ matrix.stack }}"
    step = next(s for s in drift["steps"] if s.get("uses") == "./.github/actions/pulumi")
    assert step["with"] | {"refresh": "true", "expect-no-changes": "true", "command": "preview"} == step["with"]


READ_ROLE_OF_THE_STACK = "${{ fromJSON(vars.AWS_READ_ROLE_ARNS || '{}')[matrix.stack] || vars.AWS_ROLE_ARN }}"
"""The read role of the stack's own account (dev and prod live in separate accounts), else the repository's."""


def test_each_stack_is_read_and_deployed_as_a_role_of_its_own_account():
    for name, job_name in (("pull-request.yml", "preview"), ("drift.yml", "drift")):
        job = workflow(name)["jobs"][job_name]
        step = next(s for s in job["steps"] if s.get("uses") == "./.github/actions/pulumi")
        assert step["with"]["role-to-assume"] == READ_ROLE_OF_THE_STACK, f"{name}: {job_name}"
        assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    for name, job in workflow("deploy.yml")["jobs"].items():
        # A job in an environment reads that environment's AWS_ROLE_ARN first: the deploy role of its stack's account.
        assert job["environment"] == {"dev": "dev", "prod": "production"}[name]
        step = next(s for s in job["steps"] if s.get("uses") == "./.github/actions/pulumi")
        assert step["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}", name
