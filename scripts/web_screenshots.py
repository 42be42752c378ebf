"""Screenshots of the web workspace for docs/web.md (``make screenshots``).

    .venv/bin/python scripts/web_screenshots.py docs/img

Prepares a database from the demo's bundled conversations (imported and judged, nothing decided),
starts ``ringebu-journal serve`` on it, and takes PNGs in Debian's chromium through Playwright:
the queue, a message with its versions, a search, and the audit trail after the moderator's
decisions. The images are public: before each one the script checks that no screened message's
text (and no 11-digit number) is on the page, and stops without writing the image otherwise.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.web_site import Server, demo_database, users  # noqa: E402

PEOPLE = {"moderator": ("moderator", "moderatorens lange passord"),
          "revisor": ("auditor", "revisorens lange passord")}
SIZE = {"width": 1200, "height": 860}


def screened_texts(db_url: str, data_dir: Path) -> list[str]:
    from sqlalchemy import select

    from ringebu_journal.app import App
    from ringebu_journal.db.tables import Judgment, Message

    J, M = Judgment.__table__, Message.__table__
    app = App.open(db_url, actor="admin", data_dir=data_dir)
    with app.db.read() as conn:
        rows = conn.execute(select(M.c.text, J.c.screening).join(J, J.c.message_id == M.c.id)).all()
    app.db.dispose()
    return [t for t, s in rows if t and isinstance(s, dict) and s.get("screen")]


def main(out: Path) -> int:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    exe = os.environ.get("RINGEBU_JOURNAL_CHROMIUM", "/usr/bin/chromium")
    with tempfile.TemporaryDirectory(prefix="rj-shots-") as tmp:
        url, data = f"sqlite:///{Path(tmp) / 'ringebu-journal.db'}", Path(tmp) / "data"
        demo_database(url, data)
        users(url, data, PEOPLE)
        secret = screened_texts(url, data)
        with Server(url, data) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe,
                                        args=["--no-sandbox"] if os.geteuid() == 0 else [])

            def page_for(name: str):
                ctx = browser.new_context(base_url=server.url, viewport=SIZE, locale="nb-NO", device_scale_factor=1)
                page = ctx.new_page()
                page.goto("/signin")
                page.fill("#username", name)
                page.fill("#password", PEOPLE[name][1])
                with page.expect_navigation():
                    page.click("#signin")
                return page

            def leaks(page) -> list[str]:
                body = page.inner_text("body")
                found = [t[:40] for t in secret if t[:60] in body]
                return found + (["an 11-digit number"] if re.search(r"\b\d{11}\b", body) else [])

            def shot(page, name: str) -> None:
                if leaks(page):
                    raise SystemExit(f"{name}: the page shows screened text ({leaks(page)}); no image written")
                path = out / f"web-{name}.png"
                page.screenshot(path=str(path))
                print(f"{path}", flush=True)

            mod = page_for("moderator")
            # the first view of the queue with items and nothing screened on it (the images are public)
            for view in ("/queue", "/queue?decision=archive", "/queue?decision=exclude", "/queue?action=reply",
                         "/queue?action=thank", "/queue?decision=journal"):
                mod.goto(view)
                if mod.locator(".queue-item").count() >= 2 and not leaks(mod):
                    break
            else:
                raise SystemExit("every view of the queue shows screened text; no image written")
            mod.keyboard.press("j")
            shot(mod, "queue")
            first = mod.locator(".queue-item").first
            mid = first.get_attribute("data-message-id")
            mod.keyboard.press("a")
            mod.keyboard.type("Vurdert av moderator: del av debatten på siden")
            mod.keyboard.press("Enter")
            mod.locator(f"#result-{mid} [data-outcome='stored']").wait_for()
            mod.goto(f"/messages/{mid}")
            shot(mod, "message")
            mod.goto("/search?q=vann")
            mod.locator(".hit").first.wait_for()
            shot(mod, "search")
            rev = page_for("revisor")
            rev.goto("/audit")
            rev.locator("#audit-events tbody tr").first.wait_for()
            shot(rev, "audit")
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")))
