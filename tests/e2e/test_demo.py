"""The demo (`python -m app.demo`, app/demo/run.py) as `make demo` runs it: the stack deployed, the samples and a given
file uploaded, a table and the catalog's rows printed, and an HTML report written that shows each image and the same
rows; with `--keep-catalog` (`make demo KEEP_CATALOG=1`), the catalog's PostgreSQL kept for the psql command it
prints until Ctrl-C.

The demo runs once for the module (a run takes about 20 s), with `--keep-catalog`: its wait for Ctrl-C is replaced
by what a person would do meanwhile in another terminal, run the printed command (non-interactively)."""

from __future__ import annotations

import contextlib
import html
import io
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from app.demo import shell
from app.demo.catalog import read_catalog
from app.demo.report import catalog_table
from app.demo.run import run
from app.demo.samples import standard_samples
from tests.e2e.conftest import LAMBDA_MEMORY_MB
from tests.handlers import images

GIVEN = images.png()
COUNT_SQL = "SELECT count(*) FROM images"


@dataclass(frozen=True)
class DemoRun:
    code: int
    printed: str
    workdir: Path
    psql: subprocess.CompletedProcess[str]
    """The printed psql command with `-Atc COUNT_SQL`, run while the demo waited."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    folder = tmp_path_factory.mktemp("demo")
    given = folder / "mine.png"
    given.write_bytes(GIVEN)
    workdir = folder / "demo"
    printed = io.StringIO()
    answers: list[subprocess.CompletedProcess[str]] = []

    def run_the_printed_command() -> None:
        [command] = [line.strip() for line in printed.getvalue().splitlines() if "PGPASSFILE=" in line]
        answers.append(subprocess.run(f"{command} -Atc '{COUNT_SQL}'", shell=True, capture_output=True, text=True,
                                      timeout=60, check=False))  # fmt: skip

    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setattr(shell, "until_interrupted", run_the_printed_command)
        code = run(["--set", f"lambda.memoryMb={LAMBDA_MEMORY_MB}", "--workdir", str(workdir), "--keep-catalog",
                    str(given)])  # fmt: skip
    [answer] = answers
    return DemoRun(code, printed.getvalue(), workdir, answer)


def complete_images() -> dict[str, tuple[str, int, int, str]]:
    """(format, width, height, route) of each image the demo completes, by object key: its pixels as stored (the
    catalog records the file's own dimensions, before any EXIF rotation). The panorama's size follows the stack's
    memory, so it is checked apart."""
    files = {f"uploads/samples/{s.name}": (s.data, s.expect) for s in standard_samples() if s.expect != "refused"}
    files["uploads/local/mine.png"] = (GIVEN, "lambda")
    found = {}
    for key, (data, route) in files.items():
        with Image.open(io.BytesIO(data)) as image:
            found[key] = (str(image.format), *image.size, route)
    return found


def printed_catalog(printed: str) -> list[list[str]]:
    """The catalog table's rows: key, version, format, size, bytes, route, processed at (two words)."""
    return [line.split() for line in printed.splitlines() if line.startswith("uploads/")]


def shown_catalog(report: str) -> list[list[str]]:
    [table] = re.findall(r'<table class="catalog">(.*?)</table>', report, re.S)
    rows = re.findall(r"<tr>(.*?)</tr>", table)[1:]  # under the header
    return [[html.unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row)] for row in rows]


def test_the_demo_runs_every_sample_and_writes_the_report(demo):
    assert demo.code == 0, demo.printed
    assert "could not deploy" not in demo.printed, "every resource deploys, the catalog's migration included"
    rows = {line.split()[0]: line.split()[1:3] for line in demo.printed.splitlines()
            if re.match(r"^(samples|local)/", line)}  # fmt: skip
    expected = {f"samples/{s.name}": ["-", "FAILED"] if s.expect == "refused" else [s.expect, "COMPLETE"]
                for s in standard_samples()}  # fmt: skip
    assert rows == expected | {
        "samples/panorama.png": ["fargate", "COMPLETE"],
        "local/mine.png": ["lambda", "COMPLETE"],
    }
    report = (demo.workdir / "report.html").read_text()
    assert report.count('src="data:image/') == 6, "a thumbnail for every image with renditions"
    for shown in ("UnsupportedFormat", "CorruptImage", "Timeline", "RunWorker", "none denied"):
        assert shown in report
    assert "IAM: every call allowed by its principal" in demo.printed
    assert not (demo.workdir / "postgres").exists(), "the catalog's database is removed with the local cloud"
    assert re.search(r"Data API: \d+ statements run on the\s+embedded PostgreSQL, 0 answered with an error", report)


def test_the_catalog_rows_printed_and_shown_are_one_per_complete_image(demo):
    printed = printed_catalog(demo.printed)
    assert "Catalog: 6 row(s) in table images of database catalog, read back through the Data API" in demo.printed
    found = {row[0]: (row[2], *map(int, row[3].split("\N{MULTIPLICATION SIGN}")), row[5]) for row in printed}
    assert len(found) == len(printed), "one row per image"
    (fmt, width, height, route) = found.pop("uploads/samples/panorama.png")
    assert (fmt, width, route) == ("PNG", 3 * height, "fargate")
    assert found == complete_images()
    mine = next(row for row in printed if row[0] == "uploads/local/mine.png")
    assert mine[4] == f"{len(GIVEN):,}"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", " ".join(row[6:])) for row in printed)
    shown = shown_catalog((demo.workdir / "report.html").read_text())
    assert shown == [[*row[:6], " ".join(row[6:])] for row in printed], "the report shows the rows printed"


def test_keep_catalog_leaves_a_psql_shell_on_the_catalog_until_ctrl_c(demo):
    [command] = [line.strip() for line in demo.printed.splitlines() if "PGPASSFILE=" in line]
    assert "/pgserver/pginstall/bin/psql " in command, "the client pgserver bundles, of the server's version"
    assert (demo.psql.returncode, demo.psql.stdout.strip()) == (0, "6"), demo.psql.stderr
    assert demo.printed.rstrip().endswith("Stopping the catalog's PostgreSQL (its data goes with it).")
    assert not (demo.workdir / shell.PASSFILE).exists(), "the password file goes with the server"
    assert not (demo.workdir / "postgres").exists()


def test_a_stack_without_a_catalog_says_so_in_one_line(tmp_path, capsys):
    without = SimpleNamespace(synthesis=SimpleNamespace(outputs={}))  # no catalogClusterArn output
    assert read_catalog(without) is None
    assert catalog_table(None) == "Catalog: none, the stack keeps no Aurora catalog"
    shell.keep_catalog(without, tmp_path)
    assert capsys.readouterr().out.strip() == "--keep-catalog: nothing to keep, the stack keeps no Aurora catalog"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_the_wait_ends_at_ctrl_c_or_kill_and_puts_the_handlers_back(stop):
    before = signal.getsignal(stop)

    def send_once_handled() -> None:
        while signal.getsignal(stop) is before:  # sent before the wait handles it, it would end the test run
            time.sleep(0.01)
        os.kill(os.getpid(), stop)

    threading.Thread(target=send_once_handled, daemon=True).start()
    shell.until_interrupted()
    assert signal.getsignal(stop) is before
