"""`make review STACK=dev`: the offline review report of a stack, written to .build/review/<stack>.md and printed.

    python -m review --stack dev [--output-dir .build/review] [--quiet]

Needs no credentials and no Pulumi CLI: the program runs under mocks. The application's own sections come from
`app.review` when it exists (review/extension.py). Exit 0 with the report, 2 for an unknown stack, 1 when the
program itself fails (its error printed as the CLI would).
"""

import argparse
import sys
from pathlib import Path

from review import policies
from review.extension import app_sections
from review.report import build_report
from synth.cli import check_stack, run_tool
from synth.program import PROJECT_DIR, close_runtime, synthesize

OUTPUT_DIR = PROJECT_DIR / ".build" / "review"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="stack name, one of the Pulumi.<stack>.yaml files")
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR, help="where <stack>.md is written")
    parser.add_argument("--quiet", action="store_true", help="write the file only, print nothing")
    options = parser.parse_args(argv)
    return run_tool(lambda: _review(options))


def _review(options: argparse.Namespace) -> int:
    check_stack(options.stack)
    try:
        synthesis = synthesize(options.stack)
        report = build_report(synthesis, policies.evaluate(synthesis, options.stack), app_sections(synthesis))
    finally:
        close_runtime()
    options.output_dir.mkdir(parents=True, exist_ok=True)
    (options.output_dir / f"{options.stack}.md").write_text(report)
    if not options.quiet:
        print(report, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
