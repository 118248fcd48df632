"""The levers of the cost per million images (app/review/levers.py): each one varies a single assumption or
declared setting and the model prices the varied stack again; a lever whose setting the stack already has is left
out. Savings are checked against figures computed from the line items and the prices."""

import dataclasses
import json

import pytest

from app.review.assumptions import Assumptions
from app.review.levers import LEVERS, effects
from app.review.per_image import COLD_STARTS, PROCESSING, STORAGE, Estimate, estimate
from app.settings import CONFIG_NAMESPACE, SETTINGS_KEY, load_settings
from components.profile import load_profile
from policy.rules import prices
from policy.rules.prices import HOURS_PER_MONTH
from synth.program import stack_config, synthesize
from tests.conftest import synthesized

SETTINGS = f"{CONFIG_NAMESPACE}:{SETTINGS_KEY}"


def by_lever(stack: str, assumptions: Assumptions) -> tuple[Estimate, dict]:
    synthesis = synthesized(stack)
    baseline = estimate(synthesis, assumptions)
    return baseline, {effect.lever: effect for effect in effects(synthesis, assumptions, baseline)}


def line(result: Estimate, part: str, what: str) -> float:
    return sum(item.per_million for item in result.items if item.part == part and item.what == what)


def test_levers_are_ranked_by_what_they_save(stack):
    _, found = by_lever(stack, Assumptions())
    savings = [effect.saving for effect in found.values()]
    assert savings == sorted(savings, reverse=True)


def test_keeping_originals_one_day_saves_their_storage_but_adds_the_expiry_event():
    """Prod keeps its originals: a day instead of the 30 priced saves 29/30 of their storage, and the expiry then
    sends an Object Deleted event to EventBridge."""
    baseline, found = by_lever("prod", Assumptions())
    upload = line(baseline, STORAGE, "S3 Standard storage: the upload (GB-month)")
    event = prices.EVENTBRIDGE_EVENT.per_unit * 1_000_000
    assert found["storage of originals"].saving == pytest.approx(upload * (1 - 1 / 30) - event, rel=1e-6)


def test_no_cold_starts_saves_exactly_their_init():
    baseline, found = by_lever("dev", Assumptions())
    assert found["cold starts"].saving == pytest.approx(baseline.per_million(COLD_STARTS))
    _, without = by_lever("dev", dataclasses.replace(Assumptions(), cold_start_share=0.0))
    assert "cold starts" not in without, "nothing to save"


def history_per_million(stack: str, baseline: Estimate, assumptions: Assumptions) -> float:
    """What the stack's execution history costs per million images: ingested, then stored as long as it is kept."""
    history_gb = sum(item.quantity for item in baseline.items
                     if item.what == "CloudWatch Logs: workflow execution history (GB)")  # fmt: skip
    kept_days = min(assumptions.storage_days, load_profile(stack_config(stack)).log_retention_days)
    per_gb = prices.LOGS_INGESTED_GB.per_unit + kept_days * 24 / HOURS_PER_MONTH * prices.LOGS_STORED_GB_MONTH.per_unit
    return history_gb * per_gb * 1_000_000


def test_execution_history_without_data_saves_the_datas_share_of_the_history_and_its_storage():
    """Dev logs its failed executions with their data; prod logs every execution without it already."""
    stack, assumptions = "dev", Assumptions()
    baseline, found = by_lever(stack, assumptions)
    without_data = 1 - assumptions.log_event_bytes_without_data / assumptions.log_event_bytes
    assert found["execution history data"].saving == pytest.approx(
        history_per_million(stack, baseline, assumptions) * without_data
    )


def test_execution_history_at_level_error_saves_all_but_the_failed_executions_history():
    """Prod logs every execution (level ALL); dev's profile logs failed ones only already."""
    assumptions = Assumptions()
    baseline, found = by_lever("prod", assumptions)
    history = history_per_million("prod", baseline, assumptions)
    assert 0.95 * history < found["execution history level"].saving < history, "failed executions stay logged"


def test_a_lever_a_stack_already_pulls_is_left_out():
    _, dev = by_lever("dev", Assumptions())
    _, prod = by_lever("prod", Assumptions())
    assert "Fargate task size" not in dev, "dev's task has one vCPU"
    assert "execution history level" not in dev, "dev's workflows log at level ERROR"
    assert "execution history data" not in prod, "prod's workflows log without execution data"
    assert "Fargate task size" in prod
    assert "1,024 -> 512 MB" in dev["Lambda memory"].change
    assert "1,024 -> 512 MB" in prod["Lambda memory"].change
    assert set(dev) | set(prod) == set(LEVERS)


def test_the_heavy_share_lever_moves_the_fargate_path_into_lambda():
    baseline, found = by_lever("prod", Assumptions())
    fargate = sum(item.per_million for item in baseline.items if item.part == PROCESSING and "Fargate" in item.what)
    assert found["heavy share"].saving > fargate, "the Fargate lines and the heavy path's workflow go"


def test_no_catalog_prices_the_stack_as_catalog_false_declares_it(stack):
    """The lever's workflows are the ones the program declares without a catalog: every line of the estimate is the
    same as that stack's, at the default workload (both routes, refusals and retries)."""
    config = stack_config(stack)
    assumptions = Assumptions()
    variant = LEVERS["Aurora catalog"](synthesized(stack), assumptions)
    if not load_settings(config).catalog:
        assert variant is None, "a stack without a catalog has no such lever"
        return
    settings = {**json.loads(config.get(SETTINGS, "{}")), "catalog": False}
    declared = synthesize(stack, config={**config, SETTINGS: json.dumps(settings)})
    priced = {(i.part, i.what): i.per_million for i in estimate(variant.synthesis, assumptions).items}
    expected = {(i.part, i.what): i.per_million for i in estimate(declared, assumptions).items}
    assert priced == pytest.approx(expected)
    assert not [line for line in priced if line[1] == "Secrets Manager calls by the Data API"]
    assert LEVERS["Aurora catalog"](variant.synthesis, assumptions) is None, "a stack without the insert: no lever"
