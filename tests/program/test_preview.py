"""`make preview`: the offline resource tree a reviewer reads, and clear failures."""

import pytest

from review import preview


def test_prints_the_tree_with_review_properties_and_outputs(capsys):
    assert preview.main(["--stack", "prod"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Stack prod: ")
    assert "# platform:index:Bucket  uploads" in out
    assert "  + aws:s3/bucket:Bucket  uploads-bucket  [protect, retain]" in out
    assert "retentionInDays: 365" in out
    assert 'policy: Allow ["dynamodb:UpdateItem"] on' in out
    assert "Outputs:\n" in out
    assert "  imagesTable: image-pipeline-prod-images" in out


def test_preview_mode_runs_as_a_dry_run(capsys):
    assert preview.main(["--stack", "dev", "--preview-mode"]) == 0
    assert "Stack dev: " in capsys.readouterr().out


def test_an_unknown_stack_is_one_line_listing_the_stacks_before_any_synthesis(capsys, monkeypatch):
    monkeypatch.setattr(preview, "synthesize", lambda *args, **kwargs: pytest.fail("synthesized a refused stack"))
    assert preview.main(["--stack", "staging-typo"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "error: no Pulumi.staging-typo.yaml; stacks are: dev, prod\n"
    assert captured.out == ""


def test_a_program_error_is_reported_without_a_traceback(capsys, monkeypatch):
    from synth import program as synth

    config = synth.stack_config("dev") | {"platform:profile": '{"protect": "maybe"}'}
    monkeypatch.setattr(synth, "stack_config", lambda stack: config)
    assert preview.main(["--stack", "dev"]) == 1
    err = capsys.readouterr().err
    assert "platform:profile.protect: 'maybe' is not allowed; expected true or false" in err
    assert "Traceback" not in err
