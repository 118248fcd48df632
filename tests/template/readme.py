"""The README's code blocks, read as a fork reads them: the tests run what the README tells a person to run."""

import re
from pathlib import Path

from synth.program import PROJECT_DIR

BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks_under(heading: str, language: str, readme: Path = PROJECT_DIR / "README.md") -> list[str]:
    """The `language` code blocks of the README section titled `heading` (up to the next heading of any level)."""
    lines = readme.read_text().splitlines(keepends=True)
    start = lines.index(f"{heading}\n") + 1
    section, fenced = [], False
    for line in lines[start:]:
        if not fenced and line.startswith("#"):
            break
        fenced ^= line.startswith("```")
        section.append(line)
    return [body for kind, body in BLOCK.findall("".join(section)) if kind == language]


def files_in(blocks: list[str]) -> dict[str, str]:
    """Blocks whose first line is `# <path>`: the file they show, by path."""
    return {block.splitlines()[0].removeprefix("# "): block for block in blocks if block.startswith("# ")}
