"""The cost per million images follows the stack's declared configuration and the measured handler work."""

import json

import pytest

from app.review.assumptions import RENDER, VALIDATE, Assumptions, with_benchmark
from app.review.per_image import estimate, lambda_milliseconds
from app.review.workload import WorkloadError
from app.settings import load_settings
from policy.rules import prices
from synth.program import stack_config, synthesize
from tests.conftest import synthesized

ASSUME = Assumptions(heavy_share=0.01)


def items(stack_or_synthesis, assumptions=ASSUME):
    synthesis = synthesized(stack_or_synthesis) if isinstance(stack_or_synthesis, str) else stack_or_synthesis
    return {item.what: item for item in estimate(synthesis, assumptions).items}


def test_every_line_item_names_its_price_source_and_the_total_adds_up(stack):
    result = estimate(synthesized(stack), ASSUME)
    assert result.items
    for item in result.items:
        assert item.price.source.startswith("https://aws.amazon.com/"), item.what
        assert item.quantity >= 0, item.what
    assert result.total_per_million == pytest.approx(sum(i.quantity * i.price.per_unit for i in result.items) * 1e6)


def test_rendition_writes_follow_the_settings(stack):
    sizes = load_settings(stack_config(stack)).images.rendition_sizes
    assert items(stack)["S3 PUT: renditions"].quantity == pytest.approx(len(sizes))
    assert items(stack)["S3 PUT: the upload"].quantity == 1


def test_lambda_gb_seconds_follow_the_declared_memory():
    """Prod's render has 2,048 MB: faster (a full vCPU) but more memory billed per ms than dev's 1,024 MB."""
    dev, prod = items("dev")["Lambda duration (GB-s, arm64)"], items("prod")["Lambda duration (GB-s, arm64)"]
    assert prod.quantity > dev.quantity
    assert dev.price is prices.LAMBDA_GB_SECOND["arm64"]
    one_vcpu = lambda_milliseconds(RENDER, 1769, 3, ASSUME)
    assert lambda_milliseconds(RENDER, 3538, 3, ASSUME) == one_vcpu, "single-threaded: no gain past one vCPU"
    assert lambda_milliseconds(RENDER, 1024, 3, ASSUME) > one_vcpu
    assert lambda_milliseconds(VALIDATE, 512, 0, ASSUME) > lambda_milliseconds(VALIDATE, 1024, 0, ASSUME)


def test_the_heavy_path_is_standard_workflow_transitions_and_fargate_time_for_its_share():
    dev = items("dev", Assumptions(heavy_share=0.02))
    assert dev["Step Functions Standard state transitions"].quantity == pytest.approx(0.02 * 3)
    hours = 60 / 3600
    assert dev["Fargate vCPU-hours (1 vCPU)"].quantity == pytest.approx(0.02 * 1 * hours)
    assert dev["Fargate GB-hours (4 GB)"].quantity == pytest.approx(0.02 * 4 * hours)
    assert dev["Fargate vCPU-hours (1 vCPU)"].price is prices.FARGATE_VCPU_HOUR["ARM64"]


def test_dev_pays_for_the_task_public_ip_and_expiring_uploads_prod_for_its_key():
    dev, prod = items("dev"), items("prod")
    assert "Public IPv4 address of the task (hours)" in dev
    assert "Public IPv4 address of the task (hours)" not in prod, "prod's egress is through endpoints"
    assert dev["EventBridge events from the uploads bucket"].quantity == 2, "Object Created, then the expiry"
    assert prod["EventBridge events from the uploads bucket"].quantity == 1, "prod keeps its uploads"
    assert "KMS requests (customer-managed key)" not in dev
    kms = prod["KMS requests (customer-managed key)"]
    assert kms.quantity == pytest.approx(6 * (1 - ASSUME.bucket_key_reduction), rel=0.05), kms.note


def test_express_bills_one_request_and_rounded_duration_per_image(stack):
    express = items(stack, Assumptions(heavy_share=0.0))
    assert express["Step Functions Express requests"].quantity == pytest.approx(1.0)
    seconds = express["Step Functions Express duration (GB-s)"].quantity / ASSUME.express_memory_gb
    assert seconds * 10 == pytest.approx(round(seconds * 10)), "billed in 100 ms steps"
    assert seconds >= 0.3, "at least the validate and render Lambdas' time"


def test_a_standard_upload_workflow_is_priced_by_its_state_transitions():
    profile = json.loads(stack_config("dev")["platform:profile"])
    profile["workflow"]["type"] = "STANDARD"
    standard = synthesize("dev", config=stack_config("dev") | {"platform:profile": json.dumps(profile)})
    found = items(standard)
    assert "Step Functions Express requests" not in found
    transitions = 0.99 * 5 + 0.01 * 4 + 0.01 * 3  # lambda route, hand-over route, heavy path
    assert found["Step Functions Standard state transitions"].quantity == pytest.approx(transitions)


def test_a_handler_without_measured_work_stops_the_model_with_its_name(monkeypatch):
    monkeypatch.setattr("app.review.per_image.HANDLERS", {"pipeline.validate.handler": VALIDATE})
    with pytest.raises(WorkloadError, match=r"pipeline\.render\.handler"):
        estimate(synthesized("dev"), ASSUME)


def test_the_render_time_comes_from_the_benchmark_when_it_has_run(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"peers": {"12MP": {"ours": {"median_ms": 80.04}}}}))
    measured = with_benchmark(Assumptions(), results)
    assert measured.render_cpu_ms == 80.0
    assert "make bench" in measured.render_cpu_source
    assert with_benchmark(Assumptions(), tmp_path / "absent.json") == Assumptions()
    results.write_text("{not json")
    assert with_benchmark(Assumptions(), results) == Assumptions()
