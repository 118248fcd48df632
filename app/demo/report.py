"""What a local run shows: a table on the terminal and a self-contained HTML page (renditions inlined as data
URIs, each image's status and reason, and a timeline of its executions from the Step Functions history), and on
both the catalog's rows as the Data API answers them and the business metrics the handlers printed (embedded metric
format, extracted by the emulator)."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.demo.catalog import CatalogContents, CatalogRow
from app.demo.cloud import Outcome, PipelineCloud
from emulator import adaptations
from emulator.metrics import MetricSummary
from handlers.catalog.schema import CATALOG_WRITER
from handlers.pipeline.contract import CATALOG, CATALOG_ERROR, CAUSE, ERROR, FAILED, RENDITIONS, ROUTE, STATUS

COLUMNS = ("image", ROUTE, STATUS, RENDITIONS, "seconds", "reason")
REASON_WIDTH = 60
CATALOG_COLUMNS = ("object key", "version", "format", "size", "bytes", "route", "processed at (UTC)")
NO_CATALOG = "the stack keeps no Aurora catalog"
METRIC_COLUMNS = ("metric", "dimensions", "count", "sum", "avg", "max", "unit")
"""The business metrics' table: CloudWatch's statistics per metric and dimension set over the run."""


def reason(outcome: Outcome) -> str:
    """Why an upload did not complete: the record's error and cause, else the failed execution's."""
    record = outcome.record or {}
    if record.get(STATUS) == FAILED:
        return f"{record.get(ERROR)}: {_message(str(record.get(CAUSE)))}"
    if record.get(CATALOG) == FAILED:
        return f"catalog: {record.get(CATALOG_ERROR)}"
    failed = [e for e in outcome.executions if e.status != "SUCCEEDED"]
    if failed:
        return f"{failed[0].error}: {failed[0].cause}"
    return ""


def _message(cause: str) -> str:
    """A Lambda's error payload (message, type, stack trace) as a person reads it: its message."""
    try:
        payload = json.loads(cause)
    except ValueError:
        return cause
    return str(payload.get("errorMessage", cause)) if isinstance(payload, dict) else cause


def table(outcomes: Sequence[Outcome], prefix: str) -> str:
    rows = [
        (
            o.upload.key.removeprefix(prefix),
            o.route or "-",
            o.status,
            str(len(o.renditions)),
            f"{o.seconds:.2f}",
            _clip(" ".join(reason(o).split()), REASON_WIDTH),
        )
        for o in outcomes
    ]
    return _aligned(COLUMNS, rows)


def _aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns under a header and a rule."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]  # fmt: skip
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def catalog_table(catalog: CatalogContents | None) -> str:
    """The catalog's rows as the demo prints them, under a line saying where they were read from."""
    if catalog is None:
        return f"Catalog: none, {NO_CATALOG}"
    source = f"table images of database {catalog.cluster.database}, read back through the Data API as the master user"
    if not catalog.rows:
        return f"Catalog: no row in {source}"
    rows = _aligned(CATALOG_COLUMNS, [_catalog_cells(row) for row in catalog.rows])
    return f"Catalog: {len(catalog.rows)} row(s) in {source}:\n{rows}"


def _catalog_cells(row: CatalogRow) -> tuple[str, ...]:
    size = f"{row.width}\N{MULTIPLICATION SIGN}{row.height}"
    return row.object_key, row.version, row.format, size, f"{row.size_bytes:,}", row.route, row.processed_at


def metric_table(cloud: PipelineCloud) -> str:
    """The business metrics as the demo prints them: one row per metric and dimension set, by namespace, then the
    lines that were refused as embedded metric format, if any."""
    blocks = [
        f"namespace {namespace}:\n{_aligned(METRIC_COLUMNS, [_metric_cells(s) for s in summaries])}"
        for namespace, summaries in _by_namespace(cloud.metric_summaries()).items()
    ]
    invalid = cloud.invalid_metrics
    if invalid:
        blocks.append(f"{len(invalid)} line(s) refused as embedded metric format, no metric extracted:\n"
                      + "\n".join(f"  {i.source}: {i.reason}" for i in invalid))  # fmt: skip
    return "\n\n".join(blocks) or "no metric was printed"


def _by_namespace(summaries: Sequence[MetricSummary]) -> dict[str, list[MetricSummary]]:
    grouped: dict[str, list[MetricSummary]] = {}
    for summary in summaries:
        grouped.setdefault(summary.namespace, []).append(summary)
    return grouped


def _metric_cells(summary: MetricSummary) -> tuple[str, ...]:
    dimensions = " ".join(f"{key}={value}" for key, value in sorted(summary.dimensions.items())) or "-"
    return (summary.name, dimensions, str(summary.count), _number(summary.sum), _number(summary.average),
            _number(summary.maximum), summary.unit)  # fmt: skip


def _number(value: float) -> str:
    """Whole numbers as such, others to two decimals: counts stay counts, milliseconds and megapixels readable."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def write_html(cloud: PipelineCloud, outcomes: Sequence[Outcome], catalog: CatalogContents | None, title: str) -> str:
    cards = "\n".join(_card(cloud, outcome) for outcome in outcomes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; overflow-wrap: anywhere; }}
.card {{ border: 1px solid #ddd; border-radius: 6px; padding: 1rem; margin: 1rem 0; display: flex; gap: 1rem; }}
.thumb {{ width: 140px; min-width: 140px; height: 140px; background: #f4f4f4; display: flex; align-items: center;
  justify-content: center; color: #999; }}
.thumb img {{ max-width: 140px; max-height: 140px; }}
.complete {{ color: #17622b; }} .failed, .not-recorded {{ color: #a11; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 2px 8px; text-align: left; vertical-align: top; }}
.bar {{ background: #6b8fd6; height: 10px; display: inline-block; }}
.timeline td:nth-child(3) {{ width: 320px; }}
.denials td:nth-child(2) {{ white-space: nowrap; }}
.metrics :is(td, th):nth-child(n+3):not(:last-child) {{ text-align: right; }}
.catalog :is(td, th):nth-child(5) {{ text-align: right; }}
code {{ font-size: 12px; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{_summary(cloud)}
{_catalog(catalog)}
{_metrics(cloud)}
{cards}
</body></html>
"""


def _summary(cloud: PipelineCloud) -> str:
    deployment = cloud.deployment
    failed = "".join(f"<li><b>{html.escape(d.name)}</b> ({html.escape(d.type)}): {html.escape(d.note)}</li>"
                     for d in deployment.failed)  # fmt: skip
    skipped: dict[str, str] = {d.type: d.note for d in deployment.skipped}
    skipped_items = "".join(f"<li>{html.escape(t)}: {html.escape(n)}</li>" for t, n in sorted(skipped.items()))
    applied = "".join(f"<li><code>{a.name}</code> ({html.escape(a.why)})</li>" for a in adaptations.ADAPTATIONS)
    calls = cloud.hooks.data_api_calls
    problems = [p for call in calls for p in call.problems]
    errors = [call.error for call in calls if call.error]
    return f"""<p>{len(deployment.deployed)} resources deployed into moto {adaptations.MOTO_VERSION}, in-process;
{len(deployment.skipped)} left out, {len(deployment.failed)} failed. Data API: {len(calls)} statements run on the
embedded PostgreSQL, {len(errors)} answered with an error{": " + html.escape("; ".join(errors)) if errors else ""},
{len(problems)} problems{": " + html.escape("; ".join(problems)) if problems else ""}.</p>
{_denials(cloud)}
<details><summary>Failed to deploy</summary><ul>{failed or "<li>none</li>"}</ul></details>
<details><summary>Left out</summary><ul>{skipped_items}</ul></details>
<details><summary>Adaptations to the emulator</summary><ul>{applied}</ul></details>"""


def _denials(cloud: PipelineCloud) -> str:
    """Every call IAM refused, as AWS would have: who, what, on which resource. None is the expected answer."""
    denials = cloud.denials
    if not denials:
        return '<p class="complete">IAM enforced on every call of every function, task and workflow: none denied.</p>'
    rows = "".join(f"<tr><td><code>{html.escape(d.principal)}</code></td><td><code>{html.escape(d.action)}</code></td>"
                   f"<td><code>{html.escape(d.resource)}</code></td><td>{html.escape(d.reason)}</td></tr>"
                   for d in denials)  # fmt: skip
    return f"""<h2 class="failed">Denied by IAM: {len(denials)} call(s)</h2>
<table class="denials"><tr><th>principal</th><th>action</th><th>resource</th><th>why</th></tr>{rows}</table>"""


def _catalog(catalog: CatalogContents | None) -> str:
    """The rows of the terminal's catalog table, read back the same way."""
    if catalog is None:
        return f"<h2>Catalog</h2>\n<p>None: {NO_CATALOG}.</p>"
    header = "".join(f"<th>{html.escape(column)}</th>" for column in CATALOG_COLUMNS)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in _catalog_cells(row)) + "</tr>"
                   for row in catalog.rows)  # fmt: skip
    return f"""<h2>Catalog: {len(catalog.rows)} row(s)</h2>
<p>Table <code>images</code> of database <code>{html.escape(catalog.cluster.database)}</code>, read back through the
Data API as the master user: one row per image the workflows completed, inserted by the
<code>{CATALOG_WRITER}</code> login.</p>
{f'<table class="catalog"><tr>{header}</tr>{rows}</table>' if rows else "<p>No row.</p>"}"""


def _metrics(cloud: PipelineCloud) -> str:
    """The business metrics the handlers printed, as CloudWatch would extract and aggregate them over the run."""
    tables = []
    for namespace, summaries in _by_namespace(cloud.metric_summaries()).items():
        header = "".join(f"<th>{html.escape(column)}</th>" for column in METRIC_COLUMNS)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in _metric_cells(s)) + "</tr>"
                       for s in summaries)  # fmt: skip
        tables.append(f'<p>Namespace <code>{html.escape(namespace)}</code></p>\n'
                      f'<table class="metrics"><tr>{header}</tr>{rows}</table>')  # fmt: skip
    invalid = cloud.invalid_metrics
    refused = "".join(f"<li><code>{html.escape(i.source)}</code>: {html.escape(i.reason)}<br>"
                      f"<code>{html.escape(i.line)}</code></li>" for i in invalid)  # fmt: skip
    if refused:
        refused = f'<h3 class="failed">Refused as embedded metric format: {len(invalid)} line(s)</h3><ul>{refused}</ul>'
    return f"""<h2>Business metrics</h2>
<p>What the functions and the worker printed in CloudWatch's embedded metric format, extracted as CloudWatch would
(no API call): count, sum, average and maximum per metric and dimension set over this run.</p>
{"".join(tables) or "<p>No metric was printed.</p>"}
{refused}"""


def denial_lines(cloud: PipelineCloud) -> list[str]:
    """The denials as the demo prints them: one line each."""
    return [f"  denied: {d.principal} {d.action} on {d.resource} ({d.reason})" for d in cloud.denials]


def _card(cloud: PipelineCloud, outcome: Outcome) -> str:
    name = outcome.upload.key.removeprefix(cloud.upload_prefix)
    renditions = "".join(
        f"<tr><td>{r['size']}</td><td>{r['width']}&times;{r['height']}</td><td>{r['bytes']:,} bytes</td>"
        f"<td><code>{html.escape(r['key'])}</code></td></tr>"
        for r in outcome.renditions
    )
    why = reason(outcome)
    css = outcome.status.lower().replace(" ", "-")
    return f"""<div class="card"><div class="thumb">{_thumbnail(cloud, outcome)}</div><div>
<h3>{html.escape(name)} <span class="{css}">{html.escape(outcome.status)}</span></h3>
<p>route: {html.escape(outcome.route or "-")} · {outcome.seconds:.2f} s from upload to the end of its last execution
· {outcome.upload.event["detail"]["object"]["size"]:,} bytes</p>
{f"<p>{html.escape(why)}</p>" if why else ""}
{f"<table>{renditions}</table>" if renditions else ""}
{_timeline(cloud, outcome)}
</div></div>"""


def _thumbnail(cloud: PipelineCloud, outcome: Outcome) -> str:
    if not outcome.renditions:
        return "no rendition"
    smallest = min(outcome.renditions, key=lambda r: int(r["size"]))
    data = base64.b64encode(cloud.rendition(smallest["key"])).decode()
    return f'<img alt="rendition" src="data:{smallest["contentType"]};base64,{data}">'


def _timeline(cloud: PipelineCloud, outcome: Outcome) -> str:
    rows = []
    origin = outcome.upload.uploaded_at
    total = max(outcome.seconds, 0.001)
    for execution in outcome.executions:
        rows.append(f"<tr><th colspan=3>{html.escape(execution.state_machine)}: {html.escape(execution.status)}"
                    f"{' — ' + html.escape(execution.error or '') if execution.error else ''}</th></tr>")  # fmt: skip
        for state, start, end, note in _states(cloud.history(execution.arn)):
            offset, length = start - origin, max(end - start, 0.0)
            bar = (f'<span style="display:inline-block;width:{offset / total * 300:.0f}px"></span>'
                   f'<span class="bar" style="width:{max(length / total * 300, 2):.0f}px"></span>')  # fmt: skip
            rows.append(f"<tr><td>{html.escape(state)}</td><td>{offset * 1000:.0f} ms +{length * 1000:.0f} ms</td>"
                        f"<td>{bar}</td><td>{html.escape(note)}</td></tr>")  # fmt: skip
    return f'<details><summary>Timeline</summary><table class="timeline">{"".join(rows)}</table></details>'


def _states(history: list[dict[str, Any]]) -> list[tuple[str, float, float, str]]:
    """(state, entered, exited, what went wrong) for every state the execution passed through."""
    spans: list[tuple[str, float, float, str]] = []
    open_states: dict[str, tuple[float, str]] = {}
    for event in history:
        stamp = _seconds(event["timestamp"])
        entered = event.get("stateEnteredEventDetails")
        exited = event.get("stateExitedEventDetails")
        failure = next((v for k, v in event.items() if k.endswith("FailedEventDetails") and isinstance(v, dict)), None)
        if entered:
            open_states[entered["name"]] = (stamp, "")
        elif failure and open_states:
            name = list(open_states)[-1]
            open_states[name] = (open_states[name][0], f"{failure.get('error')}")
        elif exited and exited["name"] in open_states:
            start, note = open_states.pop(exited["name"])
            spans.append((exited["name"], start, stamp, note))
    last = _seconds(history[-1]["timestamp"]) if history else 0.0
    spans.extend((name, start, last, note) for name, (start, note) in open_states.items())  # terminal states
    return spans


def _seconds(stamp: datetime | float) -> float:
    return stamp.timestamp() if isinstance(stamp, datetime) else float(stamp)
