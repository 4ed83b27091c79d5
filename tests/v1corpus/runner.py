"""Run a corpus item as Jupyter would: a notebook's code cells one after the other with
``exec`` in one namespace, in a temporary copy of the item's folder, in this process.

What is not Python is handled the way IPython does, and recorded on the result:

- ``%%writefile [-a] PATH`` writes the rest of the cell (``$name`` and ``{name}`` in
  PATH are read from the namespace); ``%%time`` runs the rest of the cell;
- ``!command`` runs the command in a shell in the item's folder and prints its output;
- ``%matplotlib inline`` is skipped (figures go to matplotlib's Agg backend);
- a cell whose lines all share an indentation is dedented (IPython's leading_indent);
- a cell ending in an expression shows it: ``_repr_html_()`` when the object has one,
  else ``repr()``, so a cell reading ``run`` exercises what Jupyter would display.

A script item runs as ``python script.py ARGS`` would (``runpy``, ``__main__``).

Cells run until the first one that raises; the rest count as not run. A cell that
blocks longer than ``cell_timeout`` seconds is interrupted (SIGALRM) and counted failed.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import runpy
import shutil
import signal
import subprocess
import sys
import textwrap
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

ITEMS = Path(__file__).resolve().parent / "items"
OK, FAILED, NOT_RUN = "ok", "failed", "not run"


@dataclass
class Cell:
    number: int  # the cell's index in the source notebook (as its README cites it)
    first_line: str
    status: str = NOT_RUN
    error: str = ""  # "ExceptionType: message" of a failed cell
    line: str = ""  # the cell's line that raised
    handled: list[str] = field(default_factory=list)  # magics handled or skipped


@dataclass
class Result:
    item: str
    mode: str
    cells: list[Cell]
    output: str = ""

    @property
    def passed(self) -> bool:
        return all(c.status == OK for c in self.cells)

    @property
    def ok_cells(self) -> int:
        return sum(c.status == OK for c in self.cells)

    @property
    def first_failure(self) -> Cell | None:
        return next((c for c in self.cells if c.status == FAILED), None)

    def describe(self) -> str:
        failure = self.first_failure
        if failure is None:
            return f"{self.item} [{self.mode}]: passes ({self.ok_cells}/{len(self.cells)} cells)"
        return (
            f"{self.item} [{self.mode}]: cell {failure.number} `{failure.line or failure.first_line}`"
            f" -> {failure.error} ({self.ok_cells}/{len(self.cells)} cells)"
        )

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("output")
        return json.dumps(data)


class CellTimeout(Exception):
    pass


def code_cells(item: str) -> list[tuple[int, str]]:
    notebook = json.loads((ITEMS / item / "notebook.ipynb").read_text())
    return [
        (cell["metadata"].get("source_cell", i), "".join(cell["source"]))
        for i, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code"
    ]


def is_notebook(item: str) -> bool:
    return (ITEMS / item / "notebook.ipynb").is_file()


def _expand(text: str, namespace: dict) -> str:
    def value(m):
        name = m.group(1) or m.group(2)
        return str(namespace[name]) if name in namespace else m.group(0)

    return re.sub(r"\$(\w+)|\{(\w+)\}", value, text)


def _python_of(source: str, namespace: dict, cell: Cell, folder: Path) -> str:
    """The cell as plain Python: cell magics applied, line magics and shell lines
    turned into calls or skipped (each recorded on ``cell``)."""
    source = textwrap.dedent(source)
    first, _, rest = source.partition("\n")
    if first.startswith("%%writefile"):
        args = first.split()[1:]
        append = "-a" in args
        path = folder / _expand([a for a in args if a != "-a"][0], namespace)
        with open(path, "a" if append else "w") as f:
            f.write(rest)
        cell.handled.append(f"%%writefile {path.name}: written")
        return ""
    if first.startswith("%%time"):
        cell.handled.append("%%time: ran the cell")
        source = rest
    lines = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("%"):
            cell.handled.append(f"{stripped}: skipped")
            continue
        if stripped.startswith("!"):
            cell.handled.append(f"{stripped}: run in a shell")
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(f"{indent}__shell__({stripped[1:]!r})")
            continue
        lines.append(line)
    return "\n".join(lines)


def _shell(folder: Path):
    def run(command: str) -> None:
        done = subprocess.run(command, shell=True, cwd=folder, capture_output=True, text=True)
        print(done.stdout + done.stderr, end="")

    return run


def _display(value) -> None:
    if value is None:
        return
    html = getattr(value, "_repr_html_", None)
    print(html() if callable(html) else repr(value))


def _exec_cell(code: str, namespace: dict, filename: str) -> None:
    tree = ast.parse(code, filename)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    if last is not None:
        tree.body.pop()
    exec(compile(tree, filename, "exec"), namespace)
    if last is not None:
        _display(eval(compile(ast.Expression(last.value), filename, "eval"), namespace))


def _failure(cell: Cell, exc: BaseException, filename: str, source: str) -> None:
    cell.status = FAILED
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    cell.error = f"{type(exc).__name__}: {message}"[:300]
    lines = source.splitlines()
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == filename and frame.lineno and frame.lineno <= len(lines):
            cell.line = lines[frame.lineno - 1].strip()
            break


@contextlib.contextmanager
def _alarm(seconds: float):
    def expired(signum, frame):
        raise CellTimeout(f"still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _inside(folder: Path, argv: list[str]):
    """cwd, sys.path and sys.argv of a kernel started in ``folder``; modules imported
    from the folder (a sample's utils.py) are forgotten afterwards."""
    cwd, path, old_argv = os.getcwd(), list(sys.path), sys.argv
    before = set(sys.modules)
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    sys.argv = argv
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path[:] = path
        sys.argv = old_argv
        for name in set(sys.modules) - before:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if module_file.startswith(str(folder)):
                del sys.modules[name]


def run_item(
    item: str, workdir: Path, mode: str, args: list[str] | None = None, cell_timeout=240.0
) -> Result:
    """Copy ``items/<item>`` into ``workdir`` and run it there."""
    folder = Path(workdir) / item
    shutil.copytree(ITEMS / item, folder, ignore=shutil.ignore_patterns("README.md"))
    if not is_notebook(item):
        return _run_script(item, folder, mode, args or [], cell_timeout)
    cells = [
        Cell(number, source.strip().splitlines()[0] if source.strip() else "")
        for number, source in code_cells(item)
    ]
    namespace = {"__name__": "__main__", "__shell__": _shell(folder)}
    out = io.StringIO()
    with _inside(folder, ["ipykernel_launcher.py"]):
        for cell, (_, source) in zip(cells, code_cells(item), strict=True):
            filename = f"<cell {cell.number}>"
            try:
                code = _python_of(source, namespace, cell, folder)
                with contextlib.redirect_stdout(out), _alarm(cell_timeout):
                    if code.strip():
                        _exec_cell(code, namespace, filename)
            except Exception as exc:
                _failure(cell, exc, filename, code if "code" in locals() else source)
                break
            cell.status = OK
    return Result(item, mode, cells, out.getvalue())


def _run_script(item: str, folder: Path, mode: str, args: list[str], cell_timeout) -> Result:
    script = next(p for p in sorted(folder.glob("*.py")) if p.stem.startswith("train"))
    cell = Cell(0, f"python {script.name} {' '.join(args)}".strip())
    out = io.StringIO()
    with _inside(folder, [script.name, *args]), contextlib.redirect_stdout(out):
        try:
            with _alarm(cell_timeout):
                runpy.run_path(str(script), run_name="__main__")
            cell.status = OK
        except SystemExit as exc:
            cell.status = OK if exc.code in (0, None) else FAILED
            cell.error = "" if cell.status == OK else f"SystemExit: {exc.code}"
        except Exception as exc:
            _failure(cell, exc, str(script), script.read_text())
    return Result(item, mode, [cell], out.getvalue())
