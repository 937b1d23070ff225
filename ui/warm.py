"""The pages' imports, done once as the server starts instead of during the first visit, and
the Book page's figures read (local mode).

A cold server spent 1.7 to 1.9 s of an advisor's first page on imports (pandas, SQLAlchemy,
plotly, the ledger's and the planner's modules) that every later visit finds in memory. The
modules are read from the pages' own import lines, so a page that imports something new is
warmed without a list to keep; a few libraries the pages reach only inside functions (plotly's
figure code, SQLite's dialect, Streamlit's icon tables) are named here.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import logging
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Reached inside functions on the first paint, not by any page's import lines.
LAZY = (
    "plotly.graph_objects",
    "plotly.express",
    "plotly.io",
    "sqlalchemy.dialects.sqlite",
    "pyarrow.pandas_compat",
    "streamlit.emojis",
    "streamlit.material_icon_names",
    "portfolio.book_runs",  # the Book page's figures, read and stored on demand
    "portfolio.practice",
    "portfolio.planner",
)
_log = logging.getLogger(__name__)


def page_imports(scripts: Iterable[Path]) -> list[str]:
    """Modules the scripts import at top level, in order (`from ui import x` names `ui.x` when
    `x` is a module)."""
    names: dict[str, None] = {}
    for script in scripts:
        try:
            body = ast.parse(script.read_text(encoding="utf-8")).body
        except (SyntaxError, UnicodeDecodeError, OSError) as exc:
            # A page that cannot be read fails on its own visit, as it always did; the rest of
            # the desk still starts.
            _log.warning("Not read for its imports: %s (%s)", script, exc)
            continue
        for node in body:
            if isinstance(node, ast.Import):
                names.update(dict.fromkeys(a.name for a in node.names))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "__future__":
                    continue
                names[node.module] = None
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    if _is_module(sub):
                        names[sub] = None
    return list(names)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except Exception:  # a parent package that fails to import: left to its page
        return False


def desk_scripts(root: Path = ROOT) -> list[Path]:
    """The navigation script and every page (a page added to `views/` is warmed too)."""
    return [root / "desk.py", *sorted((root / "views").glob("*.py"))]


def warm(modules: Iterable[str]) -> list[str]:
    """Import each module; one that fails is logged and left to fail where a page needs it (the
    server starts either way). Returns the modules that failed."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a page shows its own error; the server starts regardless
            _log.warning("Not imported before the first visit: %s (%s)", name, exc)
            failed.append(name)
    return failed


def warm_desk(root: Path = ROOT) -> list[str]:
    """Warm every page's imports; never raises, so warming cannot keep the desk from starting."""
    try:
        return warm([*page_imports(desk_scripts(root)), *LAZY])
    except Exception as exc:  # the server starts cold rather than not at all
        _log.warning("The pages' imports were not warmed: %s", exc)
        return ["*"]


def warm_book() -> None:
    """The Book page's figures read before the first visit (local mode); never raises: a ledger
    that cannot be read now is read, and reported, on the page as before."""
    # Outside a visit Streamlit's caches warn that no script is running: expected here.
    quiet = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        from ui import book_view

        book_view.warm()
    except Exception as exc:  # the page reads the book itself on its first visit
        _log.warning("The book's figures were not read before the first visit: %s", exc)
    finally:
        quiet.setLevel(level)


__all__ = ["LAZY", "desk_scripts", "page_imports", "warm", "warm_book", "warm_desk"]
