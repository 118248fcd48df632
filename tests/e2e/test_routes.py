"""The deployed pipeline's happy paths, uploaded through the bucket: a photo rendered by the Lambda, a panorama
too big for the Lambda rendered by the Fargate worker, each recorded COMPLETE and catalogued (its row read back from
the catalog's database through the Data API); and the deployment itself, which must be exactly what the program
declared."""

from __future__ import annotations

import io
import json
from datetime import datetime

from PIL import Image

from app.demo.cloud import Outcome, PipelineCloud
from emulator.deploy import DEPLOYERS, NOT_DEPLOYED
from handlers.catalog.schema import INSERT_IMAGE_PARAMETERS, INSERT_IMAGE_SQL
from tests.e2e.catalog import Catalog
from tests.e2e.conftest import unique
from tests.handlers import images

EMULATOR_LIMITS: dict[str, str] = {}
"""Resources the emulator cannot create, and the words of the reason it gives: none (the catalog's migrations run
at deploy on the embedded PostgreSQL since the local Data API has transactions)."""


def rendered(cloud: PipelineCloud, outcome: Outcome) -> dict[int, Image.Image]:
    return {int(r["size"]): Image.open(io.BytesIO(cloud.rendition(r["key"]))) for r in outcome.renditions}


def catalog_rows(cloud: PipelineCloud, outcome: Outcome) -> list[dict]:
    """The upload's rows in the catalog, read through the Data API, after checking the insert that wrote them: the
    shipped SQL with exactly its parameters, run as the writer login without error."""
    key = outcome.upload.key
    calls = [call for call in cloud.hooks.data_api_calls if call.parameters.get("object_key") == {"stringValue": key}]
    assert [(call.sql, call.problems, call.error) for call in calls] == [(INSERT_IMAGE_SQL, (), None)], calls
    assert sorted(calls[0].parameters) == sorted(INSERT_IMAGE_PARAMETERS)
    assert calls[0].secret_arn == Catalog(cloud).writer_secret, "the insert runs as the writer login"
    rows = Catalog(cloud).row_of(key)
    for row in rows:
        metadata = outcome.record["metadata"]
        assert (row["sha256"], row["format"], row["size_bytes"]) == (
            metadata["sha256"], metadata["format"], metadata["sizeBytes"])  # fmt: skip
        assert json.loads(row["exif"]) == metadata["exif"]
        assert datetime.fromisoformat(row["processed_at"]).year >= 2024
    return rows


def test_a_photo_is_rendered_by_the_lambda_recorded_and_catalogued(cloud):
    data = images.jpeg(images.photo(800, 600), orientation=6)
    upload = cloud.upload(unique("portrait.jpg"), data, "image/jpeg")
    [outcome] = cloud.wait([upload])

    assert [(e.state_machine.split("-dev-")[-1], e.status) for e in outcome.executions] == [
        ("process-upload", "SUCCEEDED")
    ]
    assert (outcome.status, outcome.route) == ("COMPLETE", "lambda"), outcome.record
    sizes = {size: (image.format, image.size) for size, image in rendered(cloud, outcome).items()}
    assert sizes == {1024: ("JPEG", (600, 800)), 512: ("JPEG", (384, 512)), 128: ("JPEG", (96, 128))}
    assert all(r["key"].startswith(f"renditions/{upload.key.removeprefix('uploads/')}/{upload.etag}/")
               for r in outcome.renditions)  # fmt: skip
    assert cloud.original(upload) == data
    [row] = catalog_rows(cloud, outcome)
    assert (row["version_tag"], row["route"], row["width"], row["height"]) == (upload.etag, "lambda", 800, 600)


def lambda_invocations(cloud: PipelineCloud, outcome: Outcome) -> list[dict]:
    """What each Lambda task of the outcome's executions returned, in order (a retried attempt would count too)."""
    return [json.loads(event["lambdaFunctionSucceededEventDetails"]["output"])
            for execution in outcome.executions for event in cloud.history(execution.arn)
            if event["type"] == "LambdaFunctionSucceeded"]  # fmt: skip


def idempotency_records(cloud: PipelineCloud) -> int:
    table = cloud.synthesis.one("aws:dynamodb/table:Table", "idempotency-table").outputs["name"]
    return cloud.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]


def test_a_lambda_route_image_is_one_invocation_one_download_and_one_idempotency_record(cloud, faults):
    records_before = idempotency_records(cloud)
    key = unique("counted.jpg")
    downloads = faults.inject("s3", "GetObject", key=key, times=None)  # no error: it only counts

    [outcome] = cloud.wait([cloud.upload(key, images.jpeg(), "image/jpeg")])

    assert (outcome.status, outcome.route) == ("COMPLETE", "lambda"), outcome.record
    [invocation] = lambda_invocations(cloud, outcome)
    assert (invocation["route"], invocation["rendered"]["status"]) == ("lambda", "COMPLETE")
    assert len(invocation["rendered"]["renditions"]) == 3
    assert downloads.hits == 1, "validated and rendered from one download"
    assert idempotency_records(cloud) - records_before == 1


def test_a_panorama_too_big_for_the_lambda_is_rendered_by_the_fargate_worker(cloud, faults, big_png):
    key = unique(big_png.name)
    downloads = faults.inject("s3", "GetObject", key=key, times=None)  # no error: it only counts
    upload = cloud.upload(key, big_png.data, big_png.content_type)
    [outcome] = cloud.wait([upload])
    assert downloads.hits == 2, "one download by the Lambda, which validates it, one by the worker"
    [validated] = lambda_invocations(cloud, outcome)
    assert validated["route"] == "fargate"
    assert "rendered" not in validated, "the Lambda left it after validation"

    assert [(e.state_machine.split("-dev-")[-1], e.status) for e in outcome.executions] == [
        ("process-upload", "SUCCEEDED"),
        ("heavy-path", "SUCCEEDED"),
    ]
    assert (outcome.status, outcome.route) == ("COMPLETE", "fargate"), outcome.record
    assert "does not fit the Lambda" in outcome.record["routeReason"]
    width, height = Image.open(io.BytesIO(big_png.data)).size
    assert rendered(cloud, outcome)[1024].size == (1024, round(1024 * height / width))
    task = _worker_task(cloud, upload.event["id"])
    assert (task["lastStatus"], task["stopCode"], task["containers"][0]["exitCode"]) == (
        "STOPPED", "EssentialContainerExited", 0)  # fmt: skip
    [row] = catalog_rows(cloud, outcome)
    assert (row["route"], (row["width"], row["height"])) == ("fargate", (width, height))
    assert cloud.original(upload) == big_png.data


def _worker_task(cloud: PipelineCloud, event_id: str) -> dict:
    """The ECS task whose EVENT_ID (a container override) names this event."""
    ecs = cloud.client("ecs")
    cluster = cloud.synthesis.one("aws:ecs/cluster:Cluster").outputs["arn"]
    arns = ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"]
    for task in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []:
        overrides = {o["name"]: o["value"] for o in task["overrides"]["containerOverrides"][0]["environment"]}
        if overrides["EVENT_ID"] == event_id:
            return task
    raise AssertionError(f"no ECS task ran the upload of event {event_id}")


def test_every_declared_resource_is_deployed_or_left_out_with_a_reason(cloud):
    declared = [r for r in cloud.synthesis.resources if r.custom and not r.is_provider]
    accounted = {d.name for d in [*cloud.deployment.deployed, *cloud.deployment.skipped, *cloud.deployment.failed]}
    assert {r.name for r in declared} == accounted
    assert all(r.type in DEPLOYERS or r.type in NOT_DEPLOYED for r in declared)
    failed = {d.name: d.note for d in cloud.deployment.failed}
    assert failed.keys() == EMULATOR_LIMITS.keys(), failed
    for name, words in EMULATOR_LIMITS.items():
        assert words in failed[name], failed[name]


def test_the_emulator_runs_exactly_what_the_program_declared(cloud):
    stepfunctions, functions = cloud.client("stepfunctions"), cloud.client("lambda")
    for machine in cloud.synthesis.of_type("aws:sfn/stateMachine:StateMachine"):
        described = stepfunctions.describe_state_machine(stateMachineArn=machine.outputs["arn"])
        assert described["definition"] == machine.inputs["definition"], machine.name
        assert described["type"] == machine.inputs["type"], machine.name
    for function in cloud.synthesis.of_type("aws:lambda/function:Function"):
        configuration = functions.get_function_configuration(FunctionName=function.outputs["arn"])
        assert configuration["Environment"]["Variables"] == function.inputs["environment"]["variables"]
        assert (configuration["Handler"], configuration["MemorySize"]) == (
            function.inputs["handler"], function.inputs["memorySize"])  # fmt: skip
    target = cloud.synthesis.one("aws:cloudwatch/eventTarget:EventTarget")
    [deployed] = cloud.client("events").list_targets_by_rule(Rule=target.inputs["rule"])["Targets"]
    assert (deployed["Arn"], deployed["DeadLetterConfig"]["Arn"]) == (
        cloud.synthesis.outputs["stateMachineArn"], target.inputs["deadLetterConfig"]["arn"])  # fmt: skip
