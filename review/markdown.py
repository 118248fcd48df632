"""Small Markdown builders, so that every section escapes table cells and formats money the same way."""

import re
from collections.abc import Iterable, Sequence


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A GitHub table. Cells are escaped: a `|` or a newline inside a cell would break the row."""
    lines = [_row(headers), _row(["---"] * len(headers))]
    lines += [_row(row) for row in rows]
    return lines


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fenced(body: str, language: str = "") -> list[str]:
    """A fenced block whose fence is longer than any run of backticks in the body."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", body, fence]


def details(summary: str, body: list[str]) -> list[str]:
    """A collapsed block: long listings stay out of the way of the summary a reviewer reads first."""
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>"]


def usd(amount: float) -> str:
    """Dollars with enough precision to tell small line items apart: $43.80, $0.52, $0.0031."""
    if amount != amount:  # NaN: priced nowhere
        return "unpriced"
    if amount == 0:
        return "$0"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    return f"${amount:.2g}" if abs(amount) < 0.01 else f"${amount:.2f}"


def number(value: float) -> str:
    """A per-image quantity: integers as integers, fractions with three significant digits."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.3g}"
