"""The stacks as declared, run through the local cloud with IAM enforced: no principal lacks a permission it needs.

A deployment of its own for each stack file (the `stack` fixture), not the shared module cloud of the other end-to-end
tests, which take permissions away."""

from __future__ import annotations

from pathlib import Path

from app.demo.cloud import PipelineCloud
from app.demo.samples import panorama, standard_samples
from emulator.stack import synthesize_stack
from tests.e2e.conftest import LAMBDA_MEMORY_MB


def test_the_stacks_need_no_permission_they_lack(stack, tmp_path: Path):
    """Every sample through its route (the panorama through Fargate, refusals included): not one call denied."""
    program = synthesize_stack(stack, {"lambda.memoryMb": LAMBDA_MEMORY_MB})
    with PipelineCloud(program.synthesis, region=program.region, workdir=tmp_path) as cloud:
        environment = cloud.synthesis.one("aws:lambda/function:Function", "process-function").inputs["environment"]
        large = panorama(cloud.hooks.runtime.module("imaging"), environment["variables"])
        samples = [*standard_samples(), large]
        outcomes = cloud.wait([cloud.upload(f"samples/{s.name}", s.data, s.content_type) for s in samples])
        assert {o.route for o in outcomes if o.status == "COMPLETE"} == {"lambda", "fargate"}
        assert all(o.record is not None for o in outcomes)
        assert cloud.denials == [], cloud.denials
