"""Every AWS list price the repository uses, each with the pricing page it comes from: the one place to read, check
and update them. tests/policy/test_prices.py fails when a dollar figure, a pricing page or a price-named number
appears in the project's Python code outside this module.

On-demand list prices for us-east-1 (N. Virginia), the region AWS quotes first; the stacks deploy to eu-west-1,
where most of these are the same or a few percent higher. Taken from the pricing pages named below as they stood
on PRICES_AS_OF, without the free tiers, at the first (most expensive) volume tier. Most were not re-read online
when this module was last changed (the machine that wrote it had no internet access): check the page before
quoting a figure, and update the price and the date together. The storage, log storage, INIT and Fargate-minimum
figures were checked in 2026-12 against stored copies of AWS's pages and of pages quoting them (S3 Standard's first tier
$0.023 per GB-month; CloudWatch Logs $0.50 per GB ingested and $0.03 per GB-month stored; Fargate's per-second
billing with a one-minute minimum; Lambda's INIT billed from 2025-08-01, from AWS's Compute Blog).

Users: the idle-cost classification beside this module (rules/idle.py, hence the pack's `no-unplanned-idle-cost`
rule and review/costs.py) and the sample application's cost per million images (app/review/per_image.py). Plain
Python with no Pulumi import, imported relatively by rules/idle.py, so it works both in the pack (run with policy/
as its root, where this is `rules.prices`) and in the offline tools (`policy.rules.prices`).
"""

from dataclasses import dataclass

__all__ = [
    "ALARM_METRIC_MONTH",
    "AURORA_ACU_HOUR",
    "CUSTOM_METRIC_MONTH",
    "DASHBOARD_MONTH",
    "DATA_API_REQUEST",
    "DYNAMODB_READ",
    "DYNAMODB_WRITE",
    "EVENTBRIDGE_EVENT",
    "EXPRESS_GB_SECOND",
    "EXPRESS_REQUEST",
    "FARGATE_GB_HOUR",
    "FARGATE_MINIMUM_SECONDS",
    "FARGATE_VCPU_HOUR",
    "HOURS_PER_MONTH",
    "INTERFACE_ENDPOINT_HOUR",
    "KMS_KEY_MONTH",
    "KMS_REQUEST",
    "LAMBDA_GB_SECOND",
    "LAMBDA_INIT_BILLED_SINCE",
    "LAMBDA_INIT_BILLING",
    "LAMBDA_REQUEST",
    "LOGS_INGESTED_GB",
    "LOGS_STORED_GB_MONTH",
    "NAT_GATEWAY_HOUR",
    "PRICES_AS_OF",
    "PRICE_REGION",
    "PUBLIC_IPV4_HOUR",
    "S3_GET",
    "S3_PUT",
    "S3_STANDARD_GB_MONTH",
    "SECRETS_MANAGER_CALL",
    "SECRET_MONTH",
    "STANDARD_TRANSITION",
    "XRAY_TRACE",
    "Price",
]

PRICES_AS_OF = "2025-09"
PRICE_REGION = "us-east-1"
HOURS_PER_MONTH = 730
"""AWS's own month on its pricing pages (8,760 hours a year / 12): an hourly price times this is a monthly one."""


@dataclass(frozen=True)
class Price:
    """`usd` for `quantity` `unit`s, as the pricing page states it (e.g. $0.20 per 1,000,000 requests)."""

    usd: float
    quantity: float
    unit: str
    source: str
    """The AWS pricing page that states the price."""

    @property
    def per_unit(self) -> float:
        return self.usd / self.quantity

    @property
    def label(self) -> str:
        """The price as the page words it, so a reader can find it there."""
        quantity = {1: "", 1_000: "1,000 ", 10_000: "10,000 ", 1_000_000: "1M "}.get(int(self.quantity), "")
        return f"${_decimal(self.usd)} per {quantity}{self.unit}"


def _decimal(usd: float) -> str:
    """$0.0000133334 rather than $1.33334e-05, and cents as cents ($0.20, not $0.2)."""
    text = f"{usd:.10f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


S3 = "https://aws.amazon.com/s3/pricing/"
EVENTBRIDGE = "https://aws.amazon.com/eventbridge/pricing/"
STEP_FUNCTIONS = "https://aws.amazon.com/step-functions/pricing/"
LAMBDA = "https://aws.amazon.com/lambda/pricing/"
FARGATE = "https://aws.amazon.com/fargate/pricing/"
VPC = "https://aws.amazon.com/vpc/pricing/"
PRIVATELINK = "https://aws.amazon.com/privatelink/pricing/"
DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
AURORA = "https://aws.amazon.com/rds/aurora/pricing/"
SECRETS_MANAGER = "https://aws.amazon.com/secrets-manager/pricing/"
KMS = "https://aws.amazon.com/kms/pricing/"
XRAY = "https://aws.amazon.com/xray/pricing/"
LAMBDA_INIT_BILLING = "https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/"

# Idle: what a resource costs by just existing (rules/idle.py turns each into a monthly figure).
NAT_GATEWAY_HOUR = Price(0.045, 1, "NAT gateway-hour (data processed billed on top)", VPC)
INTERFACE_ENDPOINT_HOUR = Price(0.01, 1, "interface endpoint-hour per AZ (data processed billed on top)", PRIVATELINK)
PUBLIC_IPV4_HOUR = Price(0.005, 1, "hour of a public IPv4 address in use", VPC)
KMS_KEY_MONTH = Price(1.00, 1, "KMS key per month (customer managed; prorated hourly)", KMS)
AURORA_ACU_HOUR = Price(0.12, 1, "ACU-hour of Aurora Serverless v2 (Aurora Standard)", AURORA)
SECRET_MONTH = Price(0.40, 1, "secret per month (prorated hourly)", SECRETS_MANAGER)
ALARM_METRIC_MONTH = Price(0.10, 1, "alarm metric per month (standard resolution: periods of 60 s or more)", CLOUDWATCH)
"""A metric alarm bills each metric it watches: one for a single-metric alarm, one per metric a metric-math alarm
reads (the expression itself is free). High-resolution (10-second) alarms cost more and are not priced here: the
components alarm at 60 seconds. The first 10 alarm metrics of an account are free."""
DASHBOARD_MONTH = Price(3.00, 1, "dashboard per month (an account's first three free)", CLOUDWATCH)
"""Per custom dashboard; an account's first three (of up to 50 metrics each) are free, so a stack's figure is the
most its dashboard can add."""

# Per request, second or byte: what one image costs (app/review/per_image.py).
S3_PUT = Price(0.005, 1_000, "PUT, COPY, POST or LIST requests (S3 Standard)", S3)
S3_GET = Price(0.0004, 1_000, "GET, SELECT and all other requests, HEAD included (S3 Standard)", S3)
EVENTBRIDGE_EVENT = Price(1.00, 1_000_000, "events ingested (S3 events are 'AWS opt-in data events')", EVENTBRIDGE)
EXPRESS_REQUEST = Price(1.00, 1_000_000, "Express workflow requests", STEP_FUNCTIONS)
EXPRESS_GB_SECOND = Price(0.00001667, 1, "GB-second of Express duration (first 1,000 GB-hours)", STEP_FUNCTIONS)
STANDARD_TRANSITION = Price(0.025, 1_000, "Standard workflow state transitions", STEP_FUNCTIONS)
LAMBDA_REQUEST = Price(0.20, 1_000_000, "Lambda requests", LAMBDA)
LAMBDA_GB_SECOND = {
    "arm64": Price(0.0000133334, 1, "GB-second of Lambda duration, arm64", LAMBDA),
    "x86_64": Price(0.0000166667, 1, "GB-second of Lambda duration, x86_64", LAMBDA),
}
LAMBDA_INIT_BILLED_SINCE = "2025-08-01"
"""Since this day Lambda bills the INIT phase (a cold start's extensions, runtime and static code) of on-demand
functions packaged as ZIP files on managed runtimes, like the sample's, at the same duration price as the
invocation: LAMBDA_GB_SECOND, at the function's memory. Before, their INIT was not billed. Source: AWS Compute
Blog, "AWS Lambda standardizes billing for INIT phase" (LAMBDA_INIT_BILLING), a stored copy read 2026-12."""
FARGATE_VCPU_HOUR = {
    "ARM64": Price(0.03238, 1, "vCPU-hour of Fargate, Linux/ARM64 (billed per second)", FARGATE),
    "X86_64": Price(0.04048, 1, "vCPU-hour of Fargate, Linux/x86 (billed per second)", FARGATE),
}
FARGATE_GB_HOUR = {
    "ARM64": Price(0.00356, 1, "GB-hour of Fargate memory, Linux/ARM64", FARGATE),
    "X86_64": Price(0.004445, 1, "GB-hour of Fargate memory, Linux/x86", FARGATE),
}
FARGATE_MINIMUM_SECONDS = 60
"""Fargate bills a task's vCPU and memory per second, rounded up, from the start of its image pull to its end, with
a minimum of one minute (FARGATE page: "a 1-minute minimum"): a task that runs 20 s bills 60."""
DYNAMODB_WRITE = Price(0.625, 1_000_000, "write request units, on-demand (Standard table class)", DYNAMODB)
DYNAMODB_READ = Price(0.125, 1_000_000, "read request units, on-demand (Standard table class)", DYNAMODB)
LOGS_INGESTED_GB = Price(0.50, 1, "GB of CloudWatch Logs ingested (Standard; vended logs' first tier)", CLOUDWATCH)
"""Collect (data ingestion), Standard log class: Lambda's and Step Functions' logs are vended logs, whose first
10 TB a month are at this price too."""
LOGS_STORED_GB_MONTH = Price(0.03, 1, "GB-month of CloudWatch Logs stored (archived)", CLOUDWATCH)
"""Store (archival): what a log group's retention keeps, per GB-month."""
S3_STANDARD_GB_MONTH = Price(0.023, 1, "GB-month of S3 Standard storage (first 50 TB a month)", S3)
"""Prorated by the hour: an object kept 7 days bills 7 x 24 / HOURS_PER_MONTH of a GB-month per GB. S3 Standard
has no minimum storage duration or object size."""
DATA_API_REQUEST = Price(0.35, 1_000_000, "RDS Data API requests (first billion, up to 32 KB each)", AURORA)
SECRETS_MANAGER_CALL = Price(0.05, 10_000, "Secrets Manager API calls", SECRETS_MANAGER)
KMS_REQUEST = Price(0.03, 10_000, "KMS requests (symmetric keys)", KMS)
XRAY_TRACE = Price(5.00, 1_000_000, "X-Ray traces recorded", XRAY)
CUSTOM_METRIC_MONTH = Price(0.30, 1, "custom metric per month (first 10,000; prorated by the hour)", CLOUDWATCH)
"""Each name and dimension-value combination is a metric, billed for the hours in which it receives data (embedded
metric format included): a metric published at least hourly costs the whole month, one that stops costs nothing."""
