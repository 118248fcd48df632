"""A DynamoDB table: on-demand, point-in-time recovery, encrypted, deletion-protected where the profile says."""

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.base import ChildTransform, Component
from components.iam import Grantable, Statement, statements_of
from components.key import decrypt_statement
from components.monitoring import Watch, alarm, metric
from components.naming import physical_name
from components.profile import profile_from_args
from components.profile_args import ProfileArgs
from components.states import (
    DYNAMODB_TRANSIENT_ERRORS,
    SERVICE_CALL_TIMEOUT_SECONDS,
    Catch,
    IntegrationPattern,
    Task,
    service_resource,
)

DYNAMODB_METRICS = "AWS/DynamoDB"
READ_ACTIONS = ("dynamodb:GetItem",)
QUERY_ACTIONS = ("dynamodb:Query", "dynamodb:BatchGetItem")
"""Opt-in (`queries=True`): a step that reads items by key needs neither. Scan is never granted: a full-table read
is not what a pipeline step should do."""
WRITE_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem")
BATCH_WRITE_ACTIONS = ("dynamodb:BatchWriteItem",)
"""Opt-in (`batches=True`). Transactions (ConditionCheckItem) are left out until something uses them."""
UPDATE_ACTIONS = ("dynamodb:UpdateItem",)
"""For records changed only by conditional updates, which is how a record kept in order is written."""
DELETE_ACTIONS = ("dynamodb:DeleteItem",)
"""Only when asked: records change state, they are not removed (TTL expires them)."""


class TableIndexProjection(StrEnum):
    """Which attributes a global secondary index copies from the table."""

    ALL = "ALL"
    """Every attribute: a query on the index needs no second read of the table."""
    KEYS_ONLY = "KEYS_ONLY"
    """Only the table's and the index's keys: the smallest index."""


DEFAULT_PROJECTION = TableIndexProjection.ALL


class TableIndex(TypedDict):
    """A global secondary index."""

    name: str
    """The index's name."""
    partition_key: str
    """The index's partition key attribute (typed in the table's `attributes`)."""
    sort_key: NotRequired[str | None]
    """The index's sort key attribute (typed in the table's `attributes`). Default: none."""
    projection: NotRequired[TableIndexProjection]
    """Which attributes the index copies. Default: "ALL"."""


class TableArgs(TypedDict):
    """The arguments of a Table."""

    profile: ProfileArgs
    """The environment profile as plain data: `EnvironmentProfile.args` in Python, the stack's `platform:profile`
    object in other languages."""
    partition_key: str
    """The table's partition key attribute."""
    attributes: dict[str, str]
    """Types of the key attributes, S, N or B (table and index keys only: DynamoDB is schemaless otherwise)."""
    sort_key: NotRequired[str | None]
    """The table's sort key attribute. Default: none."""
    kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """ARN of a customer-managed KMS key for encryption at rest (grants then include kms:Decrypt of it). Default:
    none, the AWS-owned key (no cost)."""
    ttl_attribute: NotRequired[str | None]
    """The attribute holding each item's expiry time (epoch seconds), after which DynamoDB deletes it. Default:
    none (items never expire)."""
    indexes: NotRequired[list[TableIndex]]
    """Global secondary indexes. Default: none."""


class Table(Component):
    """Pay-per-request so that an idle table costs nothing and a burst of uploads needs no capacity planning."""

    name: pulumi.Output[str]
    """The table's physical name."""
    arn: pulumi.Output[str]
    """The table's ARN."""

    def __init__(
        self,
        name: str,
        args: TableArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        indexes = _checked(name, args)
        super().__init__(name, opts, transform)
        profile = profile_from_args(args["profile"])
        self._kms_key_arn = args.get("kms_key_arn")
        self._has_indexes = bool(indexes)
        self._operations: set[str] = set()
        """The API operations grants allow: SystemErrors is published per operation."""
        ttl_attribute = args.get("ttl_attribute")
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=physical_name(name, "table"),
            billing_mode="PAY_PER_REQUEST",
            hash_key=args["partition_key"],
            range_key=args.get("sort_key"),
            attributes=[{"name": attr, "type": kind} for attr, kind in sorted(args["attributes"].items())],
            global_secondary_indexes=[_index(index) for index in indexes] or None,
            point_in_time_recovery={"enabled": profile.point_in_time_recovery},
            server_side_encryption=(
                {"enabled": True, "kms_key_arn": self._kms_key_arn} if self._kms_key_arn is not None else None
            ),
            deletion_protection_enabled=profile.deletion_protection,
            ttl={"attribute_name": ttl_attribute, "enabled": True} if ttl_attribute else None,
            opts=profile.stateful(self),
        )
        self.name = self.table.name
        self.arn = self.table.arn
        self.finish({"name": self.name, "arn": self.arn})

    def grant_read(self, grantee: Grantable, *, queries: bool = False) -> aws.iam.RolePolicy | None:
        actions = [*READ_ACTIONS, *(QUERY_ACTIONS if queries else ())]
        return grantee.add_to_role_policy(f"read-{self.logical_name}", self._statements(actions))

    def grant_write(self, grantee: Grantable, *, batches: bool = False) -> aws.iam.RolePolicy | None:
        actions = [*WRITE_ACTIONS, *(BATCH_WRITE_ACTIONS if batches else ())]
        return grantee.add_to_role_policy(f"write-{self.logical_name}", self._statements(actions))

    def grant_update(self, grantee: Grantable) -> aws.iam.RolePolicy | None:
        """Create and change items with UpdateItem only (conditional updates), never replace or batch-write them."""
        return grantee.add_to_role_policy(f"update-{self.logical_name}", self._statements(UPDATE_ACTIONS))

    def grant_read_write(self, grantee: Grantable, *, delete: bool = False) -> aws.iam.RolePolicy | None:
        """Read and write items by key, and delete them only when asked (e.g. an idempotency store releasing a
        claim: Powertools' persistence layer calls GetItem, PutItem, UpdateItem and DeleteItem, nothing else)."""
        actions = [*READ_ACTIONS, *WRITE_ACTIONS, *(DELETE_ACTIONS if delete else ())]
        return grantee.add_to_role_policy(f"read-write-{self.logical_name}", self._statements(actions))

    def watch(self) -> Watch:
        """Throttled reads and writes, and DynamoDB's own errors on the operations granted on the table."""
        table = {"TableName": self.name}
        alarms = [
            alarm("read-throttles", "Reads were throttled (on-demand tables throttle past twice their previous "
                  "peak, or at the table's limit).", metric(DYNAMODB_METRICS, "ReadThrottleEvents", table)),
            alarm("write-throttles", "Writes were throttled.", metric(DYNAMODB_METRICS, "WriteThrottleEvents", table)),
        ]  # fmt: skip
        operations = sorted(self._operations)
        if operations:
            alarms.append(
                alarm("system-errors", f"DynamoDB answered HTTP 500 to {', '.join(operations)}: retried by the "
                      "callers; persistent ones are an AWS-side incident.",
                      [metric(DYNAMODB_METRICS, "SystemErrors", {**table, "Operation": op}) for op in operations])
            )  # fmt: skip
        return Watch(title=f"Table {self.logical_name}", alarms=alarms, backups=[self.arn])

    def update_item_task(
        self,
        name: str,
        *,
        key: Mapping[str, Any],
        update_expression: str,
        attribute_values: Mapping[str, Any],
        attribute_names: Mapping[str, str] | None = None,
        condition_expression: str | None = None,
        next: str | None = None,
        result_path: str | None = None,
        catch: Sequence[Catch] = (),
        comment: str = "",
    ) -> Task:
        """A workflow state that writes one item directly: no Lambda in between, so recording an outcome cannot
        itself fail on a cold start. Its role gets UpdateItem on this table only (`grant_update`)."""
        parameters: dict[str, Any] = {
            "TableName": self.name,
            "Key": dict(key),
            "UpdateExpression": update_expression,
            "ExpressionAttributeValues": dict(attribute_values),
        }
        if attribute_names:
            parameters["ExpressionAttributeNames"] = dict(attribute_names)
        if condition_expression:
            parameters["ConditionExpression"] = condition_expression
        return Task(
            name=name,
            resource=service_resource("dynamodb", "updateItem", IntegrationPattern.REQUEST_RESPONSE),
            parameters=parameters,
            result_path=result_path,
            statements=statements_of(self.grant_update),
            transient_errors=DYNAMODB_TRANSIENT_ERRORS,
            timeout_seconds=SERVICE_CALL_TIMEOUT_SECONDS,
            next=next,
            catch=catch,
            comment=comment,
        )

    def _statements(self, actions: Sequence[str]) -> list[Statement]:
        """Exactly `actions` on this table and its indexes, plus kms:Decrypt of its key: DynamoDB decrypts the
        table's key with the caller's permission on every access, and generates data keys itself (no kms:Encrypt
        or GenerateDataKey for the caller, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
        encryption.howitworks.html)."""
        self._operations.update(action.removeprefix("dynamodb:") for action in actions)
        resources: list[pulumi.Input[str]] = [self.arn]
        if self._has_indexes:
            resources.append(self.arn.apply(lambda arn: f"{arn}/index/*"))
        statements = [Statement(actions=actions, resources=resources, sid="Table")]
        if self._kms_key_arn is not None:
            statements.append(decrypt_statement(self._kms_key_arn))
        return statements


def _checked(name: str, args: TableArgs) -> list[TableIndex]:
    """The indexes, once every key attribute has a type and every typed attribute is a key (DynamoDB rejects
    others); raises ValueError naming the arg to change, before anything is declared."""
    indexes = list(args.get("indexes") or [])
    keys = {args["partition_key"], args.get("sort_key")}
    keys |= {index["partition_key"] for index in indexes} | {index.get("sort_key") for index in indexes}
    attributes = args["attributes"]
    missing = sorted(k for k in keys if k and k not in attributes)
    if missing:
        raise ValueError(f"Table {name!r}: key attributes {missing} need a type in `attributes` (S, N or B)")
    unused = sorted(set(attributes) - keys)
    if unused:
        raise ValueError(
            f"Table {name!r}: attributes {unused} are not keys; declare only key attributes (DynamoDB rejects others)"
        )
    return indexes


def _index(index: TableIndex) -> dict:
    return {
        "name": index["name"],
        "hash_key": index["partition_key"],
        "range_key": index.get("sort_key"),
        "projection_type": TableIndexProjection(index.get("projection", DEFAULT_PROJECTION)).value,
    }
