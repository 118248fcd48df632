"""`make review STACK=dev`: the offline review report of a stack, written to .build/review/<stack>.md and printed.

    python -m review --stack dev [--output-dir .build/review] [--quiet] [application options]

Needs no credentials and no Pulumi CLI: the program runs under mocks. The application's own sections come from
`app.review` when it exists (review/extension.py), and so do its options, if it takes any (`make review
REVIEW_ARGS="..."`; `--help` lists them). Exit 0 with the report, 2 for an unknown stack or a bad option, 1 when the
program itself fails (its error printed as the CLI would).
"""

import argparse
import sys
from pathlib import Path
from typing import Any

from review import policies
from review.extension import AppOptionError, add_app_arguments, app_sections
from review.report import build_report
from synth.cli import UsageError, check_stack, run_tool
from synth.program import PROJECT_DIR, close_runtime, synthesize

OUTPUT_DIR = PROJECT_DIR / ".build" / "review"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="stack name, one of the Pulumi.<stack>.yaml files")
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR, help="where <stack>.md is written")
    parser.add_argument("--quiet", action="store_true", help="write the file only, print nothing")
    app_options = add_app_arguments(parser)
    options = parser.parse_args(argv)
    app = {name: getattr(options, name) for name in app_options} if app_options else None
    return run_tool(lambda: _review(options, app))


def _review(options: argparse.Namespace, app: dict[str, Any] | None) -> int:
    check_stack(options.stack)
    try:
        synthesis = synthesize(options.stack)
        outcome = policies.evaluate(synthesis, options.stack)
        report = build_report(synthesis, outcome, app_sections(synthesis, options=app))
    except AppOptionError as error:
        raise UsageError(str(error)) from error
    finally:
        close_runtime()
    options.output_dir.mkdir(parents=True, exist_ok=True)
    (options.output_dir / f"{options.stack}.md").write_text(report)
    if not options.quiet:
        print(report, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
