"""The web workspace in a real browser: Debian's chromium driven by Playwright, axe-core in every page.

* The server is the real ``ringebu-journal serve``, started as a subprocess on a free port with a
  database the library prepared (the moderation seed: a Facebook thread, Messenger, an edited
  Instagram comment, judged), four users with passwords: kari and ola (moderators), revisor
  (auditor), arkivar (archivist). The test waits for uvicorn's "running" line, never a fixed time.
* Chromium is ``/usr/bin/chromium`` (or ``RINGEBU_JOURNAL_CHROMIUM``), launched through
  ``executable_path`` with ``--no-sandbox`` when running as root; Playwright's own browser download
  is never used. ``make browser-deps`` installs it and axe-core (``.cache/axe-core/axe.min.js`` or
  ``RINGEBU_JOURNAL_AXE``).
* Without chromium or axe-core the tests skip with the reason, except under CI=true, where they fail.
* axe-core is added to every page of a context as an init script (the pages' Content-Security-Policy
  allows no inline script, and an init script is not page content), and :func:`assert_accessible`
  fails on any serious or critical violation of the WCAG 2.0/2.1 A and AA rules.
* Waiting is always for an element, a URL or a response, never for a measured time.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from moderation.seed import seed
from ringebu_journal.app import App
from ringebu_journal.web import auth

from ..conftest import PASSWORDS

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:          # bench/ is beside tests/, not installed
    sys.path.insert(0, str(ROOT))

from bench.web_site import Server  # noqa: E402
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
#: the longest any single wait may take before the test fails (a bound, not a pause)
TIMEOUT_MS = 20_000


def chromium_path() -> str | None:
    given = os.environ.get("RINGEBU_JOURNAL_CHROMIUM")
    for candidate in ([given] if given else ["/usr/bin/chromium", shutil.which("chromium") or ""]):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def axe_path() -> Path | None:
    p = Path(os.environ.get("RINGEBU_JOURNAL_AXE") or ROOT / ".cache" / "axe-core" / "axe.min.js")
    return p if p.is_file() and p.stat().st_size > 0 else None


def _need(what: str | Path | None, why: str) -> None:
    if what:
        return
    if IN_CI:
        pytest.fail(f"browser tests must run in CI: {why} (run `make browser-deps`)")
    pytest.skip(f"{why}; run `make browser-deps` (installs Debian's chromium and axe-core)")


# -- the server -------------------------------------------------------------------------------


# ``Server`` (``ringebu-journal serve`` in a subprocess on a free port, ready when uvicorn says it
# is running) is the one the speed bench and the screenshots use: bench/web_site.py.


@dataclass
class Site:
    url: str
    ids: dict[str, int]
    admin: App
    server: Server
    contexts: list = field(default_factory=list)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite unless a test asks for ``postgresql`` (``parametrize("db_url", …, indirect=True)``)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ringebu-journal.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def served(make_app, db_url: str, tmp_path: Path) -> Iterator[Site]:
    """The seeded database, users with passwords, and ``ringebu-journal serve`` running on it."""
    _need(chromium_path(), "chromium is not installed (/usr/bin/chromium)")
    _need(axe_path(), "axe-core's axe.min.js is missing (.cache/axe-core/axe.min.js)")
    archivist = make_app("archivist", actor="arkivar")
    ids = seed(archivist)
    for name, role in (("kari", "moderator"), ("ola", "moderator"), ("revisor", "auditor")):
        make_app(role, actor=name)
    admin = make_app("admin", actor="admin")
    for name, pw in PASSWORDS.items():
        auth.set_password(admin, name, pw)
    server = Server(db_url, tmp_path / "data", start_timeout=TIMEOUT_MS / 1000 * 3).start()
    try:
        yield Site(server.url, ids, admin, server)
    finally:
        server.stop()


# -- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    exe = chromium_path()
    _need(exe, "chromium is not installed (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=args)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_as(chromium, served: Site) -> Iterator[Callable]:
    """open_as(name) → a page in a fresh browser context (own cookies), signed in as that user.

    ``open_as(None)`` is a context that has not signed in."""
    axe = axe_path()
    contexts = []

    def _open(name: str | None, *, keyboard: bool = False, viewport: dict | None = None):
        ctx = chromium.new_context(base_url=served.url, locale="nb-NO",
                                   viewport=viewport or {"width": 1280, "height": 900})
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.add_init_script(path=str(axe))
        contexts.append(ctx)
        page = ctx.new_page()
        if name is not None:
            sign_in(page, name, keyboard=keyboard)
        return page

    yield _open
    for ctx in contexts:
        ctx.close()


def sign_in(page, name: str, password: str | None = None, *, keyboard: bool = False) -> None:
    """Sign in on /signin; with ``keyboard`` only keys are used (type, Tab, Enter)."""
    page.goto("/signin")
    pw = PASSWORDS[name] if password is None else password
    if keyboard:
        page.locator("#username").focus()
        page.keyboard.type(name)
        page.keyboard.press("Tab")
        page.keyboard.type(pw)
        with page.expect_navigation():
            page.keyboard.press("Enter")
    else:
        page.fill("#username", name)
        page.fill("#password", pw)
        with page.expect_navigation():
            page.click("#signin")


def assert_accessible(page, where: str) -> list[dict]:
    """axe-core on the page as it is now: no serious or critical WCAG 2.1 A/AA violation."""
    page.wait_for_function("() => typeof window.axe !== 'undefined'")
    result = page.evaluate(
        """async (tags) => {
             const r = await window.axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
             return {violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)})),
                     passes: r.passes.length};
           }""", WCAG_TAGS)
    bad = [v for v in result["violations"] if v["impact"] in BLOCKING]
    if bad:
        lines = [f"{where} ({page.url}): {len(bad)} serious/critical accessibility violation(s)"]
        for v in bad:
            lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
            lines += [f"      {n}" for n in v["nodes"]]
        pytest.fail("\n".join(lines))
    return result["violations"]
