"""`python -m app.demo` refuses a bad command line in one line on stderr with exit code 2, before anything is
synthesized or deployed, and reports a configuration the program rejects as its message with exit code 1, never a
traceback."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.demo import __main__ as cli
from app.demo import run as demo
from emulator import stack
from tests.handlers import images


def refuse(what: str) -> Callable[..., None]:
    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{what} must not start for a command line that is refused")

    return refused


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any synthesis or deployment fails the test; the AWS profile variables that main() drops are restored."""
    monkeypatch.setattr(stack, "synthesize", refuse("the synthesis"))
    monkeypatch.setattr(demo, "PipelineCloud", refuse("the deployment"))
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def usage_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line the demo printed on stderr (and nothing else anywhere)."""
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert captured.err.count("\n") == 1, captured.err
    return captured.err


def test_an_unknown_stack_lists_the_stacks(no_work, capsys):
    assert cli.main(["--stack", "staging-typo"]) == 2
    assert "no Pulumi.staging-typo.yaml; stacks are: dev, prod" in usage_error(capsys)


def test_a_missing_image_is_named(no_work, tmp_path, capsys):
    missing = tmp_path / "missing.jpg"
    assert cli.main([str(missing)]) == 2
    assert f"no such file: {missing}" in usage_error(capsys)


def test_a_folder_is_not_an_image(no_work, tmp_path, capsys):
    assert cli.main([str(tmp_path)]) == 2
    assert f"not a file: {tmp_path}" in usage_error(capsys)


def test_every_given_file_is_checked_before_the_first_is_used(no_work, tmp_path, capsys):
    given = tmp_path / "mine.png"
    given.write_bytes(images.png())
    assert cli.main([str(given), str(tmp_path / "typo.png")]) == 2
    assert "typo.png" in usage_error(capsys)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("lambda.memoryMb", "--set 'lambda.memoryMb' is not key.path=value (e.g. lambda.memoryMb=256)"),
        ("=256", "--set '=256' is not key.path=value"),
        ("protect.enabled=true", "--set platform:profile.protect.enabled: protect is not a section"),
    ],
    ids=["no-equals", "no-path", "through-a-value"],
)
def test_a_malformed_override_is_refused(no_work, capsys, assignment, message):
    assert cli.main(["--set", assignment]) == 2
    assert message in usage_error(capsys)


def test_a_setting_the_program_refuses_is_its_message_without_a_traceback(monkeypatch, capsys):
    monkeypatch.setattr(demo, "PipelineCloud", refuse("the deployment"))
    assert demo.run(["--set", "lambda.memoryMb=64"]) == 1
    captured = capsys.readouterr()
    assert "platform:profile.lambda.memoryMb: 64 is not allowed; expected an integer from 128" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
