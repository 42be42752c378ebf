"""`ringebu-journal serve` as users start it: a real uvicorn on a free port, a real HTTP client.

The server is started with the CLI, bound to 127.0.0.1 by default; the test waits until the
port answers (a counted number of tries), signs in, reads the queue and signs out.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx2 as httpx

from .conftest import CSRF, PASSWORDS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(proc: subprocess.Popen, port: int, tries: int = 200) -> None:
    for _ in range(tries):
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve did not listen")


def test_serve_on_a_real_port(site, tmp_path):
    port = _free_port()
    env = {**os.environ, "RINGEBU_JOURNAL_DATA": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "ringebu_journal.cli.main", "--db", site.url, "--actor", "admin", "serve",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_up(proc, port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False, timeout=30) as c:
            assert c.get("/queue").status_code == 303
            form = c.get("/signin")
            assert form.status_code == 200 and "server" not in {k.lower() for k in form.headers}
            r = c.post("/signin", data={"csrf_token": CSRF.search(form.text).group(1), "username": "kari",
                                        "password": PASSWORDS["kari"], "next": "/queue"})
            assert r.status_code == 303 and r.headers["location"] == "/queue"
            page = c.get("/queue")
            assert page.status_code == 200 and f'id="item-{site.ids["klage"]}"' in page.text
            assert c.get("/static/htmx.min.js").status_code == 200
            out = c.post("/signout", data={"csrf_token": CSRF.search(page.text).group(1)})
            assert out.status_code == 303
            assert c.get("/queue").status_code == 303
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert f"web workspace on http://127.0.0.1:{port}/" in err
    assert PASSWORDS["kari"] not in err and PASSWORDS["kari"] not in _out


def test_serve_is_refused_to_a_user_without_the_role(site):
    proc = subprocess.run([sys.executable, "-m", "ringebu_journal.cli.main", "--db", site.url, "--actor", "kari", "serve",
                           "--port", str(_free_port())], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and proc.stderr.startswith("error: permission refused")
