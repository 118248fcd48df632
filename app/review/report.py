"""The pipeline's section of the review report: what a million images cost with the stack's settings, line by
line with each price's source, the assumptions behind the quantities, and what is left out. Given to the platform's
report through its extension point (review/extension.py, `app.review.sections`).
"""

import dataclasses
from collections.abc import Iterator

from app.review.assumptions import Assumptions, with_benchmark
from app.review.per_image import Estimate, LineItem, estimate
from app.review.workload import WorkloadError
from policy.rules.prices import PRICE_REGION, PRICES_AS_OF
from review.extension import AppSections, Section
from review.markdown import code, details, number, table, usd
from synth.program import Synthesis

SECTION_TITLE = "Cost per million images"
SUMMARY_ROW = "per million images"
NOT_INCLUDED = (
    "storage (GB-month of originals, renditions, logs and backups) and data transfer out of AWS",
    "Lambda's INIT phase on cold starts, retries, refused or failed images, and the dead-letter queue",
    "CloudWatch metrics and Container Insights, VPC flow logs, ECR storage, interface endpoints' per-GB charge",
)


def sections(synthesis: Synthesis, assumptions: Assumptions | None = None) -> AppSections:
    """The summary's cost per million images and its section; `assumptions` default to the stated ones with the
    render time `make bench` measured on this machine, when it has run. The cost model's refusal of an unmodelled
    definition is shown, not raised: the rest of the review is still worth reading."""
    try:
        per_image: Estimate | str = estimate(synthesis, assumptions or with_benchmark(Assumptions()))
    except WorkloadError as error:
        per_image = str(error)
    total = usd(per_image.total_per_million) if isinstance(per_image, Estimate) else "not modelled"
    return AppSections(summary=[(SUMMARY_ROW, total)], sections=[Section(SECTION_TITLE, _per_image(per_image))])


def _per_image(per_image: Estimate | str) -> list[str]:
    if isinstance(per_image, str):
        return [f"_The cost model cannot follow this stack's workflows: {per_image}_"]
    rows = [[item.what, number(item.quantity), f"[{item.price.label}]({item.price.source})",
             usd(item.per_million), item.note] for item in _costliest_first(per_image)]  # fmt: skip
    rows.append(["**total**", "", "", f"**{usd(per_image.total_per_million)}**", ""])
    lines = [f"{usd(per_image.total_per_million)} per million images with this stack's settings: "
             f"{1 - per_image.assumptions.heavy_share:.0%} rendered in Lambda, "
             f"{per_image.assumptions.heavy_share:.0%} on the Fargate path.", ""]  # fmt: skip
    lines += table(["item", "per image", "unit price (source)", "per 1M images", "note"], rows)
    lines += ["", *(f"- {note}" for note in per_image.notes)]
    prices_note = f"Prices: AWS list prices for {PRICE_REGION} as of {PRICES_AS_OF} (`policy/rules/prices.py`; "
    prices_note += "this stack's region may differ by a few percent). Not included: " + "; ".join(NOT_INCLUDED)
    lines += ["", prices_note + "."]
    lines += ["", *details("Assumptions", list(_assumption_rows(per_image.assumptions)))]
    return lines


def _costliest_first(per_image: Estimate) -> list[LineItem]:
    """What to look at first when the total surprises: the biggest lines at the top."""
    return sorted(per_image.items, key=lambda item: -item.per_million)


def _assumption_rows(assumptions: Assumptions) -> Iterator[str]:
    rows = [[code(f.name), _value(getattr(assumptions, f.name)), f.metadata.get("why", "")]
            for f in dataclasses.fields(assumptions)]  # fmt: skip
    rows.append([code("S3 and DynamoDB calls"), "measured",
                 "per handler, under moto on the benchmark's 12 MP photo (`app/review/assumptions.py`)"])  # fmt: skip
    yield from table(["assumption", "value", "why"], rows)


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
