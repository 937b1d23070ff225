"""The server imports the pages' modules before the first visit: which, and that it still starts."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from streamlit.web.server.app_discovery import discover_asgi_app

from ui.warm import desk_scripts, page_imports, warm

REPO = Path(__file__).resolve().parent.parent


def test_page_imports_names_modules_and_the_modules_imported_from_packages(tmp_path: Path) -> None:
    script = tmp_path / "page.py"
    script.write_text(
        "from __future__ import annotations\n"
        "import json, csv\n"
        "from ui import address, not_a_module_here\n"
        "from portfolio.labels import money\n"
        "from . import sibling\n"
        "def later():\n"
        "    import plotly.express\n",
        encoding="utf-8",
    )
    assert page_imports([script]) == ["json", "csv", "ui", "ui.address", "portfolio.labels"]


def test_the_desks_pages_are_read_for_their_imports() -> None:
    names = page_imports(desk_scripts(REPO))
    assert desk_scripts(REPO)[0].name == "desk.py"
    assert {"ui.book_view", "portfolio.book_table", "ui.clients", "pandas"} <= set(names)
    assert "__future__" not in names


def test_a_module_that_cannot_be_imported_is_reported_and_the_rest_imported() -> None:
    assert warm(["json", "no_such_module_of_the_desk", "csv"]) == ["no_such_module_of_the_desk"]


def test_every_module_the_pages_need_imports_in_a_fresh_process() -> None:
    code = (
        "import sys\nfrom ui.warm import warm_desk\nfailed = warm_desk()\n"
        "print(failed, all(m in sys.modules for m in "
        "('portfolio.practice', 'ui.book_view', 'plotly.graph_objects', 'sqlalchemy')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[] True"


def test_streamlit_run_app_py_serves_the_desk_through_the_warming_server() -> None:
    found = discover_asgi_app(REPO / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"
    spec = importlib.util.spec_from_file_location("desk_server", REPO / "app.py")
    assert spec is not None and spec.loader is not None
    server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server)
    assert Path(server.app.script_path).name == "desk.py"


def test_a_page_that_cannot_be_parsed_is_skipped_and_the_others_still_read(tmp_path: Path) -> None:
    broken = tmp_path / "draft.py"
    broken.write_text("import json\ndef unfinished(:\n", encoding="utf-8")
    fine = tmp_path / "page.py"
    fine.write_text("import csv\n", encoding="utf-8")
    assert page_imports([broken, fine]) == ["csv"]


def test_the_servers_start_up_warms_the_pages_and_freezes_them(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    calls: list[str] = []
    spec = importlib.util.spec_from_file_location("desk_server_lifespan", REPO / "app.py")
    assert spec is not None and spec.loader is not None
    server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server)
    monkeypatch.setattr(server, "warm_desk", lambda: calls.append("warm") or [])
    monkeypatch.setattr(server, "freeze_now", lambda: calls.append("freeze"))
    monkeypatch.setattr(server, "warm_book", lambda: calls.append("book"))

    async def start() -> None:
        async with server._warm(None):
            calls.append("serving")

    asyncio.run(start())
    assert calls == ["warm", "freeze", "book", "serving"]
