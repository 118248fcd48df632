"""The pipeline's section of the review report: what a million images cost with the stack's settings, part by part
and line by line with each price's source, the levers that move it most, the assumptions behind the quantities
(with the `make review` options that vary them), and what is left out. Given to the platform's report through its
extension point (review/extension.py, `app.review.sections`).
"""

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from app.review.assumptions import HANDLERS, REFUSED, WORKER, Assumptions, option_name
from app.review.levers import Effect, effects
from app.review.options import assumptions_from
from app.review.per_image import (
    COLD_STARTS,
    ONE_OFF_PARTS,
    PROCESSING,
    REFUSED_IMAGES,
    RETRIES,
    STORAGE,
    Estimate,
    LineItem,
    estimate,
)
from app.review.workload import WorkloadError
from policy.rules.prices import PRICE_REGION, PRICES_AS_OF
from review.extension import AppSections, Section
from review.markdown import code, details, number, table, usd
from synth.program import Synthesis

SECTION_TITLE = "Cost per million images"
SUMMARY_ROW = "per million images"
STORAGE_ROW = "storage of a million images"
TOP_LEVERS = 3
PART_COVERS = {
    PROCESSING: "the upload's PUT and events, the workflows, and rendering every accepted upload",
    REFUSED_IMAGES: "refused uploads: one validation each, no rendering",
    RETRIES: "transient errors: each retried step run again",
    COLD_STARTS: "Lambda's INIT on new execution environments",
    STORAGE: "the original, its renditions and the logs, for the storage days",
}
NOT_INCLUDED = (
    "data transfer out of AWS, and S3 requests of whoever reads the renditions",
    "failed images other than refused ones, and the dead-letter queue",
    "noncurrent object versions (a re-upload of the same key), backups and the access logs' bucket",
    "Container Insights' performance log events, VPC flow logs, ECR storage, interface endpoints' per-GB charge (the"
    " handlers' custom metrics and Container Insights' metrics are stated below the total)",
)


def sections(synthesis: Synthesis, options: Mapping[str, Any] | None = None) -> AppSections:
    """The hook the review calls (review/extension.py): the assumptions are the stated ones with what `make bench`
    measured on this machine, and the `make review` options given (app/review/options.py) on top."""
    return cost_sections(synthesis, assumptions_from(options))


def cost_sections(synthesis: Synthesis, assumptions: Assumptions) -> AppSections:
    """The summary's cost per million images and its section. The cost model's refusal of an unmodelled definition
    is shown, not raised: the rest of the review is still worth reading."""
    try:
        per_image = estimate(synthesis, assumptions)
    except WorkloadError as error:
        lines = [f"_The cost model cannot follow this stack's workflows: {error}_"]
        return AppSections(summary=[(SUMMARY_ROW, "not modelled")], sections=[Section(SECTION_TITLE, lines)])
    storage = f"{usd(per_image.per_million(STORAGE))} for {assumptions.storage_days} days"
    summary = [(SUMMARY_ROW, usd(per_image.one_off_per_million)), (STORAGE_ROW, storage)]
    lines = _per_image(per_image, effects(synthesis, assumptions, per_image))
    return AppSections(summary=summary, sections=[Section(SECTION_TITLE, lines)])


def _per_image(per_image: Estimate, levers: list[Effect]) -> list[str]:
    assumptions = per_image.assumptions
    lines = [_headline(per_image), "", *_parts(per_image), "", *_top_levers(levers), ""]
    rows = [[item.what, item.part, number(item.quantity), f"[{item.price.label}]({item.price.source})",
             usd(item.per_million), item.note] for item in _costliest_first(per_image)]  # fmt: skip
    rows.append(["**total, with storage**", "", "", "", f"**{usd(per_image.total_per_million)}**", ""])
    lines += table(["item", "part", "per image", "unit price (source)", "per 1M images", "note"], rows)
    lines += ["", *(f"- {note}" for note in per_image.notes)]
    prices_note = f"Prices: AWS list prices for {PRICE_REGION} as of {PRICES_AS_OF} (`policy/rules/prices.py`; "
    prices_note += "this stack's region may differ by a few percent). Not included: " + "; ".join(NOT_INCLUDED)
    lines += ["", prices_note + "."]
    lines += ["", *details("Every lever", _lever_rows(levers))]
    lines += ["", *details("Assumptions", [*_assumption_rows(assumptions), "", _how_to_vary()])]
    lines += ["", *details("Work per handler (measured under moto; the process handler's derived)", list(_work_rows()))]
    return lines


def _headline(per_image: Estimate) -> str:
    a = per_image.assumptions
    rendered = 1 - a.heavy_share - a.refused_share
    return (f"{usd(per_image.one_off_per_million)} per million images with this stack's settings, and "
            f"{usd(per_image.per_million(STORAGE))} to keep them {a.storage_days} days "
            f"({usd(per_image.total_per_million)} in all): {rendered:.0%} rendered in Lambda, {a.heavy_share:.0%} on "
            f"the Fargate path, {a.refused_share:.0%} refused; {a.retry_share:.0%} of task attempts retried, "
            f"{a.cold_start_share:.0%} of Lambda invocations cold.")  # fmt: skip


def _parts(per_image: Estimate) -> list[str]:
    """The subtotal of each part: billed once per image, then storage, billed by the month."""
    rows = [[part, usd(per_image.per_million(part)), PART_COVERS[part]] for part in ONE_OFF_PARTS]
    rows.append([f"**{SUMMARY_ROW}**", f"**{usd(per_image.one_off_per_million)}**", "billed once per image"])
    rows.append([STORAGE, usd(per_image.per_million(STORAGE)), PART_COVERS[STORAGE]])
    rows.append(["**with storage**", f"**{usd(per_image.total_per_million)}**", ""])
    return table(["part", "per 1M images", "covers"], rows)


def _top_levers(levers: list[Effect]) -> list[str]:
    """The levers that save most, as computed: each varies one assumption or setting and prices the stack again."""
    saving = [effect for effect in levers if effect.saving > 0][:TOP_LEVERS]
    if not saving:
        return ["No lever the model varies lowers this stack's cost."]
    lines = [f"Top {len(saving)} levers (each varies one assumption or setting and prices the stack again):", ""]
    lines += [f"{rank}. **{effect.lever}**: {effect.change}: saves {usd(effect.saving)} per million images "
              f"({usd(effect.per_million)} in all)" for rank, effect in enumerate(saving, start=1)]  # fmt: skip
    return lines


def _lever_rows(levers: list[Effect]) -> list[str]:
    rows = [[effect.lever, effect.change, usd(effect.saving), usd(effect.per_million)] for effect in levers]
    return table(["lever", "change", "saves per 1M images", "per 1M images, with storage"], rows)


def _costliest_first(per_image: Estimate) -> list[LineItem]:
    """What to look at first when the total surprises: the biggest lines at the top."""
    return sorted(per_image.items, key=lambda item: -item.per_million)


def _assumption_rows(assumptions: Assumptions) -> Iterator[str]:
    rows = [[code(f.name), _value(getattr(assumptions, f.name)),
             code(option_name(f.name)) if f.metadata.get("option") else "", f.metadata.get("why", "")]
            for f in dataclasses.fields(assumptions)]  # fmt: skip
    rows.append([code("S3 and DynamoDB calls"), "measured", "",
                 "per handler, under moto on the benchmark's 12 MP photo (`app/review/assumptions.py`)"])  # fmt: skip
    yield from table(["assumption", "value", "option", "why"], rows)


def _how_to_vary() -> str:
    return ('Vary the options with `make review STACK=<stack> REVIEW_ARGS="--cold-start-share 0.05 '
            '--refused-share 0.02"` (`python -m review --help` lists them).')  # fmt: skip


def _work_rows() -> Iterator[str]:
    """Every handler's work on each route, as the model counts it (`app/review/assumptions.py`)."""
    works = [(f"{code(name)}, {route}", work) for name, handler in HANDLERS.items()
             for route, work in (("Lambda route", handler.lambda_route), ("Fargate route", handler.fargate_route))
             if work is not None]  # fmt: skip
    works += [("a refused upload, any handler", REFUSED), ("the Fargate worker", WORKER)]
    rows = [[who, " + ".join(work.cpu), str(work.s3_get_class), str(work.downloads), str(work.s3_puts_per_rendition),
             str(work.dynamodb_calls), str(work.dynamodb_write_units), f"{work.log_bytes:,}"]
            for who, work in works]  # fmt: skip
    yield from table(["handler", "compute", "S3 GET/HEAD", "downloads", "PUT per rendition", "DynamoDB calls",
                      "write units", "log bytes"], rows)  # fmt: skip


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ", ".join(f"{name} {ms:g} ms" for name, ms in value) or "none"
    return str(value)
