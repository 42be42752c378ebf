"""Fixtures for the web workspace: the seeded moderation data, users with passwords, a client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import pytest
from starlette.testclient import TestClient

from moderation.seed import seed
from ringebu_journal.app import App
from ringebu_journal.web import auth
from ringebu_journal.web.app import WebSettings, create_app

PASSWORDS = {"kari": "kari sitt lange passord", "ola": "ola sitt lange passord",
             "revisor": "revisorens lange passord", "arkivar": "arkivarens lange passord"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    url: str
    ids: dict[str, int]
    admin: App
    client: Callable[..., TestClient]


@pytest.fixture
def site(make_app, db_url, tmp_path) -> Site:
    archivist = make_app("archivist", actor="arkivar")
    ids = seed(archivist)
    make_app("moderator", actor="kari")
    make_app("moderator", actor="ola")
    make_app("auditor", actor="revisor")
    admin = make_app("admin", actor="admin")
    for name, pw in PASSWORDS.items():
        auth.set_password(admin, name, pw)
    clients: list[TestClient] = []

    def client(**settings) -> TestClient:
        c = TestClient(create_app(WebSettings(db_url=db_url, data_dir=str(tmp_path / "data"), **settings)),
                       follow_redirects=False)
        clients.append(c)
        return c

    yield Site(db_url, ids, admin, client)
    for c in clients:
        c.close()


def sign_in(client: TestClient, name: str, password: str | None = None):
    page = client.get("/signin")
    token = CSRF.search(page.text).group(1)
    return client.post("/signin", data={"csrf_token": token, "username": name,
                                        "password": PASSWORDS[name] if password is None else password, "next": "/"})


def csrf_of(html: str) -> str:
    return CSRF.search(html).group(1)
