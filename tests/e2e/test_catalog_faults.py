"""The catalog's faults through the deployed stack, on the local cloud's real PostgreSQL and the Data API the workflows
reach: a paused cluster is waited out by the Catalog task's Retry and the image is catalogued; a statement the
database refuses, and a writer that is down, leave the image COMPLETE with its renditions, marked `catalog: FAILED`
with the cause, and the execution ends in CatalogFailed. Every Retry waits a second at most here
(`LocalCloud.shortened_retries`): what is retried is under test, not how long AWS waits."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from app.demo.cloud import Outcome, PipelineCloud
from emulator.cloud import STATE_MACHINE, Execution
from handlers.pipeline.contract import CATALOG, CATALOG_ERROR, COMPLETE, FAILED
from tests.e2e.catalog import Catalog
from tests.e2e.conftest import unique
from tests.handlers import images

RESUME_SECONDS = 0.5
"""Shorter than the shortened Retry's wait: the task's second attempt finds the cluster resumed."""
REFUSED_NAME = "refused-by-the-catalog.jpg"
CHECK = "images_not_refused"


@pytest.fixture(scope="module", autouse=True)
def shortened_retries(cloud: PipelineCloud) -> Iterator[None]:
    with cloud.shortened_retries():
        yield


@pytest.fixture(scope="module")
def catalog(cloud: PipelineCloud) -> Catalog:
    return Catalog(cloud)


@pytest.fixture(autouse=True)
def awake(catalog: Catalog) -> Iterator[None]:
    """Each test leaves the cluster awake, whatever happened."""
    yield
    catalog.wake()


@contextmanager
def refusing_uploads_named(catalog: Catalog, name: str) -> Iterator[None]:
    """A CHECK constraint on the images table, added by the owner, that every row of an upload called `name`
    violates; dropped afterwards."""
    catalog.execute(f"ALTER TABLE images ADD CONSTRAINT {CHECK} CHECK (object_key NOT LIKE '%/{name}')")
    try:
        yield
    finally:
        catalog.execute(f"ALTER TABLE images DROP CONSTRAINT {CHECK}")


def last_state(cloud: PipelineCloud, execution: Execution) -> str:
    """The name of the state the execution ended in."""
    [*_, last] = [e["stateEnteredEventDetails"]["name"] for e in cloud.history(execution.arn)
                  if "stateEnteredEventDetails" in e]  # fmt: skip
    return str(last)


def catalog_failure(cloud: PipelineCloud, catalog: Catalog, outcome: Outcome) -> str:
    """The cause recorded on an image whose render completed and whose catalog insert failed: checks that the
    execution ended in CatalogFailed, the record is COMPLETE and marked, its renditions are stored, and no row
    was written."""
    execution = outcome.executions[-1]
    assert (execution.status, last_state(cloud, execution)) == ("FAILED", "CatalogFailed"), execution.cause
    assert (outcome.status, outcome.record[CATALOG]) == (COMPLETE, FAILED), outcome.record
    assert outcome.renditions, "a failed catalog insert does not undo the render"
    assert all(cloud.rendition(rendition["key"]) for rendition in outcome.renditions)
    assert catalog.row_of(outcome.upload.key) == []
    return str(outcome.record[CATALOG_ERROR])


def without_waits(definition: str) -> tuple[dict[str, Any], set[tuple[int | None, int | None]]]:
    """The workflow's document without its Retry waits, and the waits (IntervalSeconds, MaxDelaySeconds) taken out."""
    document = json.loads(definition)
    retriers = [retrier for state in document["States"].values() for retrier in state.get("Retry", [])]
    return document, {(r.pop("IntervalSeconds", None), r.pop("MaxDelaySeconds", None)) for r in retriers}


def test_shortened_retries_wait_a_second_and_change_nothing_else(cloud):
    stepfunctions = cloud.client("stepfunctions")
    for machine in cloud.synthesis.of_type(STATE_MACHINE):
        described = stepfunctions.describe_state_machine(stateMachineArn=machine.outputs["arn"])
        running, waits = without_waits(described["definition"])
        deployed, _ = without_waits(machine.inputs["definition"])
        assert (running, waits) == (deployed, {(1, 1)}), machine.name


def test_a_paused_cluster_is_waited_out_by_the_catalog_tasks_retry(cloud, catalog):
    cloud.pause_database(catalog.arn, resume_seconds=RESUME_SECONDS)
    [outcome] = cloud.wait([cloud.upload(unique("while-paused.jpg"), images.jpeg(), "image/jpeg")])

    assert catalog.attempts(outcome) == ["RdsData.DatabaseResumingException", None]
    execution = outcome.executions[-1]
    assert (execution.status, last_state(cloud, execution)) == ("SUCCEEDED", "Done"), execution.cause
    assert (outcome.status, CATALOG in outcome.record) == (COMPLETE, False), outcome.record
    [row] = catalog.row_of(outcome.upload.key)
    assert row["version_tag"] == outcome.upload.etag


def test_a_row_the_database_refuses_fails_the_catalog_with_postgresqls_message(cloud, catalog):
    with refusing_uploads_named(catalog, REFUSED_NAME):
        [outcome] = cloud.wait([cloud.upload(unique(REFUSED_NAME), images.jpeg(), "image/jpeg")])

    assert catalog.attempts(outcome) == ["RdsData.DatabaseErrorException"], "a refused row is not retried"
    cause = catalog_failure(cloud, catalog, outcome)
    assert f'ERROR: new row for relation "images" violates check constraint "{CHECK}"; SQLState: 23514' in cause


def test_a_writer_down_fails_the_catalog_as_unavailable_and_keeps_the_image(cloud, catalog):
    with cloud.database_down(catalog.arn):
        [outcome] = cloud.wait([cloud.upload(unique("while-down.jpg"), images.jpeg(), "image/jpeg")])

    attempts = catalog.attempts(outcome)
    assert (set(attempts), len(attempts) > 1) == ({"RdsData.DatabaseUnavailableException"}, True), attempts
    cause = catalog_failure(cloud, catalog, outcome)
    assert cause.startswith("The writer instance in the DB cluster isn't available. (Service: RdsData, "
                            "Status Code: 504"), cause  # fmt: skip


def test_a_cluster_that_keeps_capacity_does_not_pause(cloud, catalog):
    rds, identifier = cloud.client("rds"), catalog.arn.rsplit(":", 1)[-1]
    [cluster] = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
    scaling = cluster["ServerlessV2ScalingConfiguration"]
    rds.modify_db_cluster(
        DBClusterIdentifier=identifier, ServerlessV2ScalingConfiguration={**scaling, "MinCapacity": 0.5}
    )
    try:
        with pytest.raises(ValueError, match=re.escape("keeps 0.5 ACUs at least")):
            cloud.pause_database(catalog.arn)
    finally:
        rds.modify_db_cluster(DBClusterIdentifier=identifier, ServerlessV2ScalingConfiguration=scaling)
    assert catalog.rows("SELECT 1 AS one") == [{"one": 1}]
