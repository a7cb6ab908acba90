"""The docs cannot go stale: every code block of README.md and docs/*.md that a user would run is
run here, in order, in one scratch folder holding a copy of sweeps/ (Sybil parses the Markdown).

- ```console blocks: each `$ command` runs in bash; the lines shown after it must appear in its
  output (stdout and stderr), in order, each whole ("..." inside a line stands for any text);
  the command must succeed unless the shown output has an "error:" line. A leading
  `pip install ... &&` is left out: the suite runs where that install was done (CI runs it).
- ```bash blocks: every line runs and must succeed.
- ```python blocks: run in one namespace per document, in the scratch folder.
- A block that is not meant to run is preceded by `<!-- skip: next -->`; ```toml and plain ```
  blocks are shown, not run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

from tests.conftest import REPO

DOCUMENTS = ["README.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md"))]
INSTALL = re.compile(r"^pip install [^&]+&&\s*")


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100"}
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def _shown_in(shown: list[str], output: str) -> bool:
    """Whether each shown line is a whole line of `output`, in order."""
    lines = [line.rstrip() for line in output.replace("\r", "\n").splitlines()]
    position = 0
    for expected in shown:
        pattern = re.compile(".*".join(map(re.escape, expected.rstrip().split("..."))) + r"\Z")
        while position < len(lines) and not pattern.match(lines[position]):
            position += 1
        if position == len(lines):
            return False
        position += 1
    return True


def evaluate_console(example) -> str | None:
    scratch = example.namespace["scratch"]
    commands: list[tuple[str, list[str]]] = []
    for line in example.parsed.splitlines():
        if line.startswith("$ "):
            commands.append((INSTALL.sub("", line[2:]), []))
        elif commands:
            commands[-1][1].append(line)
    for command, shown in commands:
        result = _run(command, scratch)
        output = result.stdout + result.stderr
        fails = any(line.startswith("error:") for line in shown)
        if (result.returncode != 0) != fails:
            return f"{command!r} exited {result.returncode}:\n{output}"
        shown = [line for line in shown if line.strip() and line.strip() != "..."]
        if not _shown_in(shown, output):
            return f"{command!r} printed:\n{output}\nnot what the docs show:\n" + "\n".join(shown)
    return None


def evaluate_bash(example) -> str | None:
    for command in example.parsed.splitlines():
        if command.strip() and not command.startswith("#"):
            result = _run(INSTALL.sub("", command), example.namespace["scratch"])
            if result.returncode:
                return f"{command!r} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    return None


SYBIL = Sybil(
    parsers=[
        SkipParser(),
        CodeBlockParser("console", evaluate_console),
        CodeBlockParser("bash", evaluate_bash),
        PythonCodeBlockParser(),
    ],
    path=str(REPO),
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One folder for every document, in order: later blocks use what earlier ones made."""
    folder = tmp_path_factory.mktemp("docs")
    shutil.copytree(REPO / "sweeps", folder / "sweeps")
    return folder


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_code_blocks_of_the_docs_run_as_shown(document: str, scratch: Path) -> None:
    parsed = SYBIL.parse(REPO / document)
    examples = list(parsed)
    assert examples or document != "README.md"
    before = Path.cwd()
    os.chdir(scratch)
    try:
        parsed.namespace["scratch"] = scratch
        for example in examples:
            example.evaluate()
    finally:
        os.chdir(before)


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    """.ci/run (on a clean clone) runs the README's Development command, nothing else."""
    import re

    readme = (REPO / "README.md").read_text()
    development = readme.split("## Development")[1]
    command = re.search(r"```bash\n(.+?)\n```", development, re.S)[1].strip()
    ci = [
        line
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci == [command]
