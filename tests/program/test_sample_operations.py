"""The sample's own operations (app/operations.py): the images-failed alarm at the stack's threshold, the business
metrics on top of the dashboard, and monitoring settings checked before anything is declared."""

import dataclasses
import json

import pytest

from app.operations import HOUR_SECONDS, pipeline_alarms, pipeline_metrics
from app.settings import load_settings
from components.config import ConfigError
from synth.program import SynthesisError, stack_config, synthesize
from tests.conftest import synthesized

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
IMAGES_FAILED = "operations-application-images-failed"


def test_prod_alarms_on_more_failed_images_an_hour_than_its_settings_allow():
    threshold = load_settings(stack_config("prod")).failed_images_per_hour
    assert threshold == 10, "Pulumi.prod.yaml: pipeline:settings.failedImagesPerHour"
    found = synthesized("prod").one(ALARM, IMAGES_FAILED)
    inputs = found.inputs
    assert (inputs["namespace"], inputs["metricName"], inputs["statistic"]) == ("ImagePipeline", "ImagesFailed", "Sum")
    assert inputs["dimensions"] == {"service": "image-pipeline"}, (
        f"{found.urn}: exactly the dimension the handlers publish; one more would be another metric, never alarmed"
    )
    assert (inputs["comparisonOperator"], inputs["threshold"], inputs["period"]) == (
        "GreaterThanThreshold", threshold, HOUR_SECONDS
    )  # fmt: skip


def test_the_threshold_is_the_settings_own():
    settings = dataclasses.replace(load_settings(stack_config("prod")), failed_images_per_hour=25)
    (images_failed,) = pipeline_alarms(settings)
    assert images_failed["threshold"] == 25
    assert "More than 25 images ended FAILED within an hour" in images_failed["meaning"]


def test_the_dashboard_starts_with_the_pipelines_business_metrics():
    body = json.loads(synthesized("prod").one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    widgets = body["widgets"]
    assert widgets[0]["properties"]["markdown"] == "## Business metrics"
    first_component = next(i for i, w in enumerate(widgets) if i and w["type"] == "text")
    business = {w["properties"]["title"]: w["properties"]["metrics"] for w in widgets[1:first_component]}
    assert set(business) == {m["name"] for m in pipeline_metrics()}, "one widget per business metric, on top"
    lines = sorted(json.dumps(line) for lines in business.values() for line in lines)
    expected = [[m["namespace"], m["name"], *(p for d in sorted(m["dimensions"].items()) for p in d),
                 {"stat": m["statistic"]}] for m in pipeline_metrics()]  # fmt: skip
    assert lines == sorted(json.dumps(line) for line in expected)
    routes = [line[line.index("route") + 1] for line in business["ImagesCompleted"]]
    assert sorted(routes) == ["fargate", "lambda"], "images completed per route"
    assert business["ImagesFailed"] == [["ImagePipeline", "ImagesFailed", "service", "image-pipeline", {"stat": "Sum"}]]
    assert {line[-1]["stat"] for line in business["RenderTime"]} == {"p90"}


def with_profile_value(stack, section, value):
    config = stack_config(stack)
    profile = json.loads(config["platform:profile"])
    profile[section] = {**profile.get(section, {}), **value}
    return config | {"platform:profile": json.dumps(profile)}


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("monitoring", {"alarms": True, "emails": ["on-call"]},
         "platform:profile.monitoring.emails[0]: 'on-call' is not allowed; expected an email address"),
        ("monitoring", {"alarms": True, "webhooks": ["http://chat.example.com/hook"]},
         "platform:profile.monitoring.webhooks[0]: 'http://chat.example.com/hook' is not allowed; expected an https://"),
        ("monitoring", {"alarms": False, "emails": ["ops@example.com"]},
         "platform:profile.monitoring.alarms: false is not allowed with emails or webhooks"),
        ("backup", {"schedule": "every night"},
         "platform:profile.backup.schedule: 'every night' is not allowed; expected an AWS cron expression"),
        ("backup", {"retentionDays": 0},
         "platform:profile.backup.retentionDays: 0 is not allowed; expected an integer from 1 to 36500"),
    ],
    ids=["email", "webhook", "emails-without-alarms", "schedule", "retention"],
)  # fmt: skip
def test_bad_monitoring_and_backup_settings_fail_before_any_resource(stack, section, value, message):
    with pytest.raises(SynthesisError) as raised:
        synthesize(stack, config=with_profile_value(stack, section, value))
    assert isinstance(raised.value.__cause__, ConfigError)
    assert message in str(raised.value)
    assert raised.value.declared == [], "nothing may be declared when the configuration is invalid"
