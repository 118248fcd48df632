"""The demo (`python -m app.demo`, app/demo/run.py) as `make demo` runs it: the stack deployed, the samples and a given
file uploaded, a table printed and an HTML report written that shows each image."""

from __future__ import annotations

import re

from app.demo.run import run
from app.demo.samples import standard_samples
from tests.e2e.conftest import LAMBDA_MEMORY_MB
from tests.handlers import images


def test_the_demo_runs_every_sample_and_writes_the_report(tmp_path, capsys):
    given = tmp_path / "mine.png"
    given.write_bytes(images.png())
    workdir = tmp_path / "demo"

    code = run(["--set", f"lambda.memoryMb={LAMBDA_MEMORY_MB}", "--workdir", str(workdir), str(given)])

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "could not deploy" not in printed, "every resource deploys, the catalog's migration included"
    rows = {line.split()[0]: line.split()[1:3] for line in printed.splitlines() if re.match(r"^(samples|local)/", line)}
    expected = {f"samples/{s.name}": ["-", "FAILED"] if s.expect == "refused" else [s.expect, "COMPLETE"]
                for s in standard_samples()}  # fmt: skip
    assert rows == expected | {
        "samples/panorama.png": ["fargate", "COMPLETE"],
        "local/mine.png": ["lambda", "COMPLETE"],
    }
    report = (workdir / "report.html").read_text()
    assert report.count('src="data:image/') == 6, "a thumbnail for every image with renditions"
    for shown in ("UnsupportedFormat", "CorruptImage", "Timeline", "RunWorker", "none denied"):
        assert shown in report
    assert "IAM: every call allowed by its principal" in printed
    assert not (workdir / "postgres").exists(), "the catalog's database is removed with the local cloud"
    assert re.search(r"Data API: \d+ statements run on the\s+embedded PostgreSQL, 0 answered with an error", report)
