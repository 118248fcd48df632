"""An application's own parts of the review report, through one optional module.

The platform's report holds what every stack has: the summary, the policy results, the resource graph, who may do
what, the idle cost and the resource tree. What only the application knows (what its unit of work costs, say) it
adds by providing `APP_MODULE` with a function `sections(synthesis) -> AppSections`:

    # app/review/__init__.py
    from review.extension import AppSections, Section

    def sections(synthesis: Synthesis) -> AppSections:
        return AppSections(summary=[("per million orders", "$1.20")],
                           sections=[Section("Cost per million orders", ["...Markdown lines..."])])

`python -m review` looks the module up with `importlib.util.find_spec` and imports it only when it exists: without
it (a platform with no application yet, or one whose application adds nothing) the report has the platform's parts
only. An error inside the module is not hidden: it fails the review as any other bug would.
"""

import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass

from synth.program import Synthesis

__all__ = ["APP_MODULE", "HOOK", "NO_SECTIONS", "AppSections", "Section", "app_sections"]

APP_MODULE = "app.review"
"""The application's review module: the one place the platform's tools look for the application."""
HOOK = "sections"
"""The function of APP_MODULE the report calls: `sections(synthesis: Synthesis) -> AppSections`."""


@dataclass(frozen=True)
class Section:
    """One `##` section of the report."""

    title: str
    """The heading, without the `## `."""
    lines: Sequence[str]
    """Its Markdown, one line each (review/markdown.py builds tables and collapsed details)."""


@dataclass(frozen=True)
class AppSections:
    """What an application adds to the report; nothing by default."""

    summary: Sequence[tuple[str, str]] = ()
    """Rows of the summary table, (what, value), after the platform's rows."""
    sections: Sequence[Section] = ()
    """Sections after the platform's idle cost and before the resource tree, in this order."""


NO_SECTIONS = AppSections()
"""The report of a platform whose application adds nothing."""


def app_sections(synthesis: Synthesis, module: str | None = None) -> AppSections:
    """What `module` (APP_MODULE unless given) adds to the report of `synthesis`; nothing when there is no such
    module."""
    module = module or APP_MODULE
    if not _exists(module):
        return NO_SECTIONS
    hook = getattr(importlib.import_module(module), HOOK, None)
    if not callable(hook):
        raise TypeError(
            f"{module} has no {HOOK}(synthesis) -> review.extension.AppSections: define it or remove {module}"
        )
    added = hook(synthesis)
    if not isinstance(added, AppSections):
        raise TypeError(f"{module}.{HOOK}() returned {type(added).__name__}, not a review.extension.AppSections")
    return added


def _exists(module: str) -> bool:
    """Whether `module` can be found, each parent package first (`find_spec` imports the parents of a dotted name
    and raises when one is missing)."""
    parts = module.split(".")
    return all(importlib.util.find_spec(".".join(parts[: depth + 1])) is not None for depth in range(len(parts)))
