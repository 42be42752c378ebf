"""The web workspace in chromium: sign-in, the queue by keyboard, two moderators on one message,
search, the auditor's trail and verify, a refused page — and axe-core on every page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ringebu_journal.app import App
from ringebu_journal.db.tables import AuditEvent, Message, ModeratorDecision

from .conftest import assert_accessible, sign_in

AUD = AuditEvent.__table__
DEC = ModeratorDecision.__table__
MSG = Message.__table__


def decisions(app: App, mid: int | None = None) -> list[dict]:
    with app.db.read() as conn:
        stmt = select(DEC).order_by(DEC.c.id)
        if mid is not None:
            stmt = stmt.where(DEC.c.message_id == mid)
        return [dict(r) for r in conn.execute(stmt).mappings()]


def audit_events(app: App, action: str) -> list[dict]:
    with app.db.read() as conn:
        return [dict(r) for r in conn.execute(select(AUD).where(AUD.c.action == action).order_by(AUD.c.seq)).mappings()]


def current_id(page) -> int:
    return int(page.locator(".queue-item.current").get_attribute("data-message-id"))


def test_sign_in_wrong_password_then_right_and_sign_out(served, open_as):
    page = open_as(None)
    page.goto("/")
    page.wait_for_url(re.compile(r"/signin"))
    assert_accessible(page, "sign-in page")
    sign_in(page, "kari", password="not the password at all")
    error = page.locator("#signin-error")
    assert "Feil brukernavn eller passord" in error.inner_text()
    assert page.locator("#username").input_value() == "kari"
    assert_accessible(page, "sign-in page with an error")
    sign_in(page, "kari")
    page.wait_for_url(re.compile(r"/queue$"))
    assert page.locator("#who").inner_text() == "kari (moderator)"
    assert page.context.cookies()[0]["httpOnly"] is True
    with page.expect_navigation():
        page.click("#signout")
    page.wait_for_url(re.compile(r"/signin$"))
    response = page.goto("/queue")
    assert re.search(r"/signin\?next=%2Fqueue$", response.url)
    assert [e["actor"] for e in audit_events(served.admin, "web.signin")] == ["kari"]
    assert [e["actor"] for e in audit_events(served.admin, "web.signout")] == ["kari"]


def test_working_through_the_queue_with_the_keyboard_only(served, open_as):
    page = open_as("kari", keyboard=True)
    page.wait_for_url(re.compile(r"/queue$"))
    assert_accessible(page, "queue")
    items = page.locator(".queue-item")
    order = [int(i) for i in items.evaluate_all("els => els.map(e => e.dataset.messageId)")]
    assert len(order) >= 4
    page.keyboard.press("j")
    assert current_id(page) == order[0]
    assert page.evaluate("document.activeElement.dataset.messageId") == str(order[0])
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert current_id(page) == order[0]

    decided: dict[int, str] = {}
    for mid in order[:4]:
        assert current_id(page) == mid
        item = page.locator(f"#item-{mid}")
        proposal = item.get_attribute("data-decision")
        if proposal in ("journal", "archive", "exclude"):
            page.keyboard.press("c")                           # confirm the proposal
            decided[mid] = proposal
        else:
            page.keyboard.press("a")                           # archive: a reason is needed first
            assert page.evaluate("document.activeElement.id") == f"reason-{mid}"
            page.keyboard.type("Vurdert: del av debatten på siden")
            page.keyboard.press("Enter")
            decided[mid] = "archive"
        item.locator('[data-outcome="stored"]').wait_for()
        assert item.get_attribute("data-done") == "true"
    # after the last stored decision the next item is the current one, with the focus
    assert current_id(page) == current_id_after(order)
    assert_accessible(page, "queue after four decisions")

    # o opens the current message's page
    with page.expect_navigation():
        page.keyboard.press("o")
    assert page.url.endswith(f"/messages/{current_id_after(order)}")
    assert_accessible(page, "message page")

    stored = {d["message_id"]: d for d in decisions(served.admin) if d["actor"] == "kari"}
    assert set(stored) == set(decided)
    for mid, decision in decided.items():
        assert stored[mid]["decision"] == decision
    page.goto("/queue")
    # what is left of a decided message is its duty (reply, refer …), no longer a decision
    left = page.locator(".queue-item").evaluate_all("els => els.map(e => [+e.dataset.messageId, e.dataset.why])")
    for mid, why in left:
        if mid in decided:
            assert why.startswith("to do"), (mid, why)


def current_id_after(order: list[int]) -> int:
    return order[4] if len(order) > 4 else order[3]


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_two_moderators_on_one_message_the_second_sees_the_conflict(served, open_as):
    mid = served.ids["klage"]
    kari, ola = open_as("kari"), open_as("ola")
    for page in (kari, ola):
        page.goto("/queue")
        page.locator(f"#item-{mid}").wait_for()
    kari.click(f"#confirm-{mid}")
    kari.locator(f"#result-{mid} [data-outcome='stored']").wait_for()

    ola.fill(f"#reason-{mid}", "Bare prat, holdes utenfor")
    ola.click(f"#exclude-{mid}")
    conflict = ola.locator(f"#conflict-{mid}")
    conflict.wait_for()
    text = conflict.inner_text()
    assert "Konflikt" in text and "Ingenting av ditt ble lagret" in text
    assert "kari" in text
    assert conflict.get_attribute("role") == "alert"
    assert ola.evaluate("document.activeElement.getAttribute('role')") == "alert"   # read out at once
    assert_accessible(ola, "queue showing a conflict")
    with ola.expect_navigation():
        conflict.get_by_role("link").click()
    assert ola.url.endswith(f"/messages/{mid}")
    assert_accessible(ola, "message page after a conflict")

    rows = decisions(served.admin, mid)
    assert [d["actor"] for d in rows] == ["kari"]
    assert len([e for e in audit_events(served.admin, "decision.confirm") if e["actor"] == "kari"]) == 1
    assert not [e for e in audit_events(served.admin, "decision.flag") if e["actor"] == "ola"]


def test_search_by_word_and_by_platform(served, open_as):
    page = open_as("kari")
    page.goto("/search")
    assert_accessible(page, "search page, empty")
    page.fill("#s-q", "renovasjonsgebyr")
    with page.expect_navigation():
        page.press("#s-q", "Enter")
    hit = page.locator(f"#hit-{served.ids['klage']}")
    hit.wait_for()
    assert "renovasjonsgebyr" in hit.locator("mark").first.inner_text().lower()
    assert_accessible(page, "search results")
    page.fill("#s-q", "")
    page.select_option("#s-platform", "messenger")
    with page.expect_navigation():
        page.click("#search")
    found = {int(i) for i in page.locator(".hit").evaluate_all("els => els.map(e => e.dataset.messageId)")}
    assert found == {served.ids["bibliotek"], served.ids["bibliotek_svar"], served.ids["oppsigelse"]}
    with page.expect_navigation():
        page.click(f"#hit-{served.ids['bibliotek']} a")
    assert page.url.endswith(f"/messages/{served.ids['bibliotek']}")


def test_auditor_reads_the_trail_filters_it_and_verifies_the_chain(served, open_as):
    kari = open_as("kari")
    kari.goto("/queue")
    kari.click(f"#confirm-{served.ids['klage']}")
    kari.locator(f"#result-{served.ids['klage']} [data-outcome='stored']").wait_for()

    page = open_as("revisor")
    page.goto("/audit")
    assert_accessible(page, "audit trail")
    rows = page.locator("#audit-events tbody tr")
    assert rows.count() >= 5
    page.fill("#a-actor", "kari")
    with page.expect_navigation():
        page.click("#audit-filter")
    actions = page.locator("#audit-events tbody tr").evaluate_all("els => els.map(e => e.dataset.action)")
    assert "decision.confirm" in actions and "web.signin" in actions
    assert_accessible(page, "audit trail filtered")
    with page.expect_navigation():
        page.click("#verify")
    result = page.locator("#verify-result")
    assert result.get_attribute("data-ok") == "true"
    head = page.locator("#verify-head").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", head)
    assert_accessible(page, "audit verify")
    page.goto("/reports/compliance")
    assert page.locator("h1").count() == 1
    assert_accessible(page, "compliance report")


def test_a_moderator_is_refused_the_auditor_pages(served, open_as):
    page = open_as("kari")
    nav = page.locator("#nav").inner_text()
    assert "Revisjonsspor" not in nav
    response = page.goto("/audit")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "Ingen tilgang"
    assert_accessible(page, "403 page")
    assert page.goto("/audit/verify").status == 403
    refused = audit_events(served.admin, "command.refused")
    assert [e["actor"] for e in refused] == ["kari", "kari"]


def test_every_page_passes_axe_for_its_role(served, open_as):
    ids = served.ids
    archivist = open_as("arkivar")
    archivist.goto("/archive")
    assert archivist.locator("h1").count() == 1
    assert_accessible(archivist, "imports and exports")
    moderator = open_as("kari")
    for key in ("insta", "klage", "ppt", "bibliotek"):       # an edited one with its diff, a screened one
        r = moderator.goto(f"/messages/{ids[key]}")
        assert r.status == 200
        assert_accessible(moderator, f"message page ({key})")
    r = moderator.goto("/messages/999999")
    assert r.status in (400, 404)
    assert_accessible(moderator, "a message that does not exist")
    r = moderator.goto("/queue?since=not-a-date")
    assert r.status == 400
    assert_accessible(moderator, "a bad filter")
    moderator.goto("/queue?decision=review")
    assert_accessible(moderator, "queue filtered")
    # the narrow screen of a phone next to the page being moderated
    phone = open_as("kari", viewport={"width": 390, "height": 844})
    phone.goto("/queue")
    assert_accessible(phone, "queue on a narrow screen")


def test_the_accessibility_check_fails_a_page_that_breaks_the_rules(served, open_as):
    """The check itself can fail: the sign-in form with its labels taken away is a critical violation."""
    page = open_as(None)
    page.goto("/signin")
    assert_accessible(page, "sign-in page")
    page.evaluate("document.querySelectorAll('label').forEach(l => l.remove())")
    with pytest.raises(pytest.fail.Exception, match=r"\[critical\] label"):
        assert_accessible(page, "sign-in page without labels")
