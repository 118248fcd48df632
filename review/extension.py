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

The module may also take options of its own, which `python -m review` accepts beside its own (`make review
REVIEW_ARGS="..."`): it defines `add_arguments(group)`, adding them to an `argparse` argument group, and its
`sections(synthesis, options)` then gets their values, a mapping by each option's `dest`. Options that cannot hold
together are reported as a usage error when the hook raises `AppOptionError`.
"""

import argparse
import importlib
import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from synth.program import Synthesis

__all__ = [
    "APP_MODULE",
    "ARGUMENTS_HOOK",
    "HOOK",
    "NO_SECTIONS",
    "AppOptionError",
    "AppSections",
    "Section",
    "add_app_arguments",
    "app_sections",
]

APP_MODULE = "app.review"
"""The application's review module: the one place the platform's tools look for the application."""
HOOK = "sections"
"""The function of APP_MODULE the report calls: `sections(synthesis: Synthesis) -> AppSections`, or
`sections(synthesis, options)` when the module defines ARGUMENTS_HOOK."""
ARGUMENTS_HOOK = "add_arguments"
"""The optional function of APP_MODULE that adds its options: `add_arguments(group: argparse._ArgumentGroup)`."""


class AppOptionError(ValueError):
    """The application's options cannot hold together; the message names them. `python -m review` reports it as a
    usage error (exit 2), as argparse reports a bad value."""


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


def add_app_arguments(parser: argparse.ArgumentParser, module: str | None = None) -> list[str]:
    """Add the options of `module` (APP_MODULE unless given) to `parser`, in a group of their own; their `dest`s,
    none when there is no such module or it takes no options."""
    module = module or APP_MODULE
    add = getattr(importlib.import_module(module), ARGUMENTS_HOOK, None) if _exists(module) else None
    if add is None:
        return []
    before = vars(parser.parse_known_args([])[0])
    add(parser.add_argument_group(f"options of {module}"))
    return sorted(vars(parser.parse_known_args([])[0]).keys() - before.keys())


def app_sections(
    synthesis: Synthesis, module: str | None = None, options: Mapping[str, Any] | None = None
) -> AppSections:
    """What `module` (APP_MODULE unless given) adds to the report of `synthesis`, given its `options` when it takes
    any (`add_app_arguments`); nothing when there is no such module."""
    module = module or APP_MODULE
    if not _exists(module):
        return NO_SECTIONS
    hook = getattr(importlib.import_module(module), HOOK, None)
    if not callable(hook):
        raise TypeError(
            f"{module} has no {HOOK}(synthesis) -> review.extension.AppSections: define it or remove {module}"
        )
    added = hook(synthesis) if options is None else hook(synthesis, options)
    if not isinstance(added, AppSections):
        raise TypeError(f"{module}.{HOOK}() returned {type(added).__name__}, not a review.extension.AppSections")
    return added


def _exists(module: str) -> bool:
    """Whether `module` can be found, each parent package first (`find_spec` imports the parents of a dotted name
    and raises when one is missing)."""
    parts = module.split(".")
    return all(importlib.util.find_spec(".".join(parts[: depth + 1])) is not None for depth in range(len(parts)))
