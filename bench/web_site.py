"""A running web workspace for the speed bench and the screenshots of docs/web.md.

* :class:`Server` runs the real ``ringebu-journal serve`` in a subprocess on a free port and is
  ready when uvicorn says it is running (its output is read line by line; no fixed wait).
* :func:`users` adds users with passwords through the library (``add_user``, ``auth.set_password``).
* :func:`signed_in` is a ``requests`` session signed in through the sign-in form, as a browser
  would be (the form's CSRF cookie and field, then the session cookie).
* :func:`demo_database` prepares a database from the demo's bundled conversations: the official
  accounts, the Graph API harvest and the manual captures imported, every message judged, nothing
  decided — a full queue.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import requests

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_path() -> str:
    exe = Path(sys.executable).with_name("ringebu-journal")
    return str(exe) if exe.exists() else (shutil.which("ringebu-journal") or "ringebu-journal")


class Server:
    def __init__(self, db_url: str, data_dir: Path, actor: str = "admin", start_timeout: float = 60.0):
        self.db_url, self.data_dir, self.actor, self.start_timeout = db_url, data_dir, actor, start_timeout
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, attempts: int = 3) -> "Server":
        for _ in range(attempts):
            port = free_port()
            if self._start_on(port):
                self.url = f"http://127.0.0.1:{port}"
                return self
            if not any("address already in use" in ln.lower() for ln in self.lines):
                break
        raise RuntimeError("ringebu-journal serve did not start:\n" + "".join(self.lines[-30:]))

    def _start_on(self, port: int) -> bool:
        self.proc = subprocess.Popen(
            [cli_path(), "--db", self.db_url, "--actor", self.actor, "--data-dir", str(self.data_dir),
             "serve", "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        said: queue.Queue[bool] = queue.Queue()

        def read(proc: subprocess.Popen[str]) -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if len(self.lines) < 10_000:
                    self.lines.append(line)
                if "Uvicorn running on" in line:
                    said.put(True)
            said.put(False)

        threading.Thread(target=read, args=(self.proc,), daemon=True).start()
        try:
            running = said.get(timeout=self.start_timeout)
        except queue.Empty:
            running = False
        if not running:
            self.stop()
        return running

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def users(db_url: str, data_dir: Path, people: dict[str, tuple[str, str]]) -> None:
    """people: name → (role, password); the database must be initialised, with user ``admin``."""
    from ringebu_journal.app import App, add_user
    from ringebu_journal.web import auth

    admin = App.open(db_url, actor="admin", data_dir=data_dir)
    admin.role = "admin"
    for name, (role, password) in people.items():
        add_user(admin, name, role)
        auth.set_password(admin, name, password)
    admin.db.dispose()


def signed_in(base: str, name: str, password: str) -> requests.Session:
    s = requests.Session()
    form = s.get(f"{base}/signin", timeout=30)
    form.raise_for_status()
    r = s.post(f"{base}/signin", data={"csrf_token": CSRF.search(form.text).group(1), "username": name,
                                       "password": password, "next": "/"}, allow_redirects=False, timeout=30)
    if r.status_code != 303:
        raise RuntimeError(f"signing in as {name} failed: HTTP {r.status_code}")
    return s


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    if not m:
        raise RuntimeError("no CSRF token in the page")
    return m.group(1)


def demo_database(db_url: str, data_dir: Path) -> None:
    """Init, the demo's accounts and conversations imported and judged; users admin and arkiv."""
    from importlib import resources

    from ringebu_journal import demo
    from ringebu_journal.accounts import add_account
    from ringebu_journal.app import App, add_user, init_database
    from ringebu_journal.importers.run import import_facebook_dump, import_jsonl
    from ringebu_journal.judging import judge_stored

    def data(name: str) -> str:
        return str(resources.files("ringebu_journal.demo_data").joinpath(name))

    admin = App.open(db_url, actor="admin", data_dir=data_dir)
    init_database(admin)
    admin.role = "admin"
    add_user(admin, "arkiv", "archivist")
    admin.db.dispose()
    arkiv = App.open(db_url, actor="arkiv", data_dir=data_dir)
    arkiv.role = "archivist"
    add_account(arkiv, "facebook", demo.PAGE, name="Ringebu kommune", unit="Kommunikasjon",
                notified_date=date(2024, 2, 1))
    add_account(arkiv, "instagram", demo.IG, name="ringebukommune", unit="Kommunikasjon",
                notified_date=date(2024, 2, 1))
    add_account(arkiv, "linkedin", demo.LINKEDIN, name="Ringebu kommune", unit="Næring og samfunn")
    import_facebook_dump(arkiv, [data("facebook-harvest.jsonl")])
    import_jsonl(arkiv, [data("manual-captures.jsonl")])
    judge_stored(arkiv)
    arkiv.db.dispose()
