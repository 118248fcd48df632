"""The cost model's options of `make review`: one per assumption marked `option` (app/review/assumptions.py), so
that adding such an assumption adds its option, its help (the assumption's reason) and its check.

    make review STACK=prod REVIEW_ARGS="--cold-start-share 0.05 --refused-share 0.02"

A value that is not a number, or out of its range, is refused by argparse with the option's name; shares that
cannot hold together (heavy and refused above every upload) are refused when the assumptions are built.
"""

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from app.review.assumptions import Assumptions, expected, option_name, options, with_benchmark


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The hook `python -m review` calls (review/extension.py): an option per optional assumption, default unset
    (the stated value, or `make bench`'s measurement)."""
    defaults = Assumptions()
    for option in options():
        why = f"{option.metadata['why']} (default {getattr(defaults, option.name):g})"
        group.add_argument(option_name(option.name), dest=option.name, type=_parser(option), default=None,
                           metavar="DAYS" if option.type is int else "SHARE", help=_escaped(why))  # fmt: skip


def assumptions_from(given: Mapping[str, Any] | None) -> Assumptions:
    """The stated assumptions with `make bench`'s measurements, and the options given on the command line on top;
    raises AssumptionError (a usage error) when they cannot hold together."""
    names = {option.name for option in options()}
    chosen = {name: value for name, value in (given or {}).items() if name in names and value is not None}
    return dataclasses.replace(with_benchmark(Assumptions()), **chosen)


def _escaped(text: str) -> str:
    """Help text as argparse reads it: a `%` would start a format."""
    return text.replace("%", "%%")


def _parser(option: dataclasses.Field) -> Callable[[str], float]:
    kind = int if option.type is int else float

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number; {expected(option)}") from None
        if not option.metadata["low"] <= value <= option.metadata["high"]:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; {expected(option)}")
        return value

    return parse
