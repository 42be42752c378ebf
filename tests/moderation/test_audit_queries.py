"""Auditors reconstruct who decided what, when and why, from the audit trail."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from ringebu_journal import moderation

from .conftest import run_cli
from .seed import new_version

README = Path(__file__).resolve().parents[2] / "README.md"


def _log(url: str, *args: str) -> list[dict]:
    code, out, err = run_cli(url, "revisor", "audit", "log", "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)


def test_auditor_lists_decisions_by_message_moderator_and_export(seeded, make_app):
    app, ids, url = seeded.moderator, seeded.ids, seeded.url
    make_app("auditor", actor="revisor")
    ola = make_app("moderator", actor="ola")
    archivist = make_app("archivist", actor="arkivar")
    klage = ids["klage"]
    with archivist.db.write() as conn:                       # what the judge writes beside each judgment
        archivist.audit(conn, "judgment.add", "message", klage, after={"decision": "journal"})
    moderation.flag(app, [str(klage)], "archive", "Allerede mottatt som brev, sak 26/123")
    moderation.flag(ola, [str(ids["ppt"])], "journal", "Bekymring for barn: journalføres og skjermes", screen=True)
    moderation.record_action(app, str(klage), "replied", "Svart i tråden")
    v2 = new_version(app, klage, "Jeg klager på vedtaket om renovasjonsgebyr (endret).")
    moderation.unflag(app, [str(v2)], "Brevet gjaldt en annen eiendom")
    with archivist.db.write() as conn:                       # what the exporter writes
        archivist.audit(conn, "export.noark5", "export", "pkg-2026-03-a1b2", after={"journalposter": 2})

    # --message: every version of the message, by the platform's own id
    by_message = _log(url, "--message", "facebook:871234567890123_100_201")
    assert [e["action"] for e in by_message] == ["judgment.add", "decision.flag", "action.record", "decision.unflag"]
    assert {e["object_id"] for e in by_message} == {str(klage), str(v2)}
    flag_ev = by_message[1]
    assert flag_ev["actor"] == "kari" and flag_ev["role"] == "moderator"
    assert flag_ev["reason"] == "Allerede mottatt som brev, sak 26/123"
    assert flag_ev["before"]["decision"] == "journal" and flag_ev["after"]["decision"] == "archive"

    # --moderator: that moderator's decision changes only
    assert [(e["action"], e["object_id"]) for e in _log(url, "--moderator", "ola")] == [
        ("decision.flag", str(ids["ppt"]))]
    assert [e["action"] for e in _log(url, "--moderator", "kari")] == ["decision.flag", "decision.unflag"]

    # --decisions: judgments and moderator decisions, nothing else
    assert [e["action"] for e in _log(url, "--decisions")] == [
        "judgment.add", "decision.flag", "decision.flag", "decision.unflag"]
    assert [e["action"] for e in _log(url, "--decisions", "--message", str(ids["ppt"]))] == ["decision.flag"]

    # --export: only that export's events
    assert [e["object_id"] for e in _log(url, "--export", "pkg-2026-03-a1b2")] == ["pkg-2026-03-a1b2"]

    # the table form an auditor reads
    code, out, err = run_cli(url, "revisor", "audit", "log", "--moderator", "ola")
    assert code == 0 and "decision.flag" in out and "Bekymring for barn" in out, err


def test_override_is_what_the_exporter_reads_and_what_the_auditor_sees(seeded, make_app):
    app, ids, url = seeded.moderator, seeded.ids, seeded.url
    make_app("auditor", actor="revisor")
    moderation.flag(app, [str(ids["prat"])], "archive", "Bildet viser kommunal eiendom: arkiveres", screen=False)
    with app.db.read() as conn:
        bulk = moderation.effective_decisions(conn, [ids["prat"], ids["klage"], ids["post"]])
    assert (bulk[ids["prat"]].decision, bulk[ids["prat"]].source) == ("archive", "moderator")
    assert bulk[ids["prat"]].reason == "Bildet viser kommunal eiendom: arkiveres"
    assert (bulk[ids["klage"]].decision, bulk[ids["klage"]].source) == ("journal", "judge")
    [ev] = _log(url, "--decisions", "--message", str(ids["prat"]))
    assert ev["before"]["decision"] == "exclude" and ev["after"]["decision"] == "archive"
    assert ev["reason"] == "Bildet viser kommunal eiendom: arkiveres" and ev["actor"] == "kari"


def test_exported_trail_with_decisions_verifies_with_the_readme_recipe(seeded, make_app, tmp_path):
    app, ids, url = seeded.moderator, seeded.ids, seeded.url
    make_app("auditor", actor="revisor")
    moderation.flag(app, [str(ids["ppt"])], "journal", "Helse og skole: «skjermes» etter offl. § 13", screen=True)
    moderation.confirm(app, [str(ids["oppsigelse"])])
    moderation.record_action(app, str(ids["ppt"]), "hidden", "Opplysninger om et barn — skjult på siden")
    out = tmp_path / "spor.jsonl"
    code, stdout, err = run_cli(url, "revisor", "audit", "export", "--out", str(out))
    assert code == 0, err
    code, stdout, err = run_cli(url, "revisor", "audit", "verify", "--file", str(out))
    assert code == 0 and "chain intact" in stdout, err
    recipe = re.search(r"### Verify the trail without this program.*?```python\n(.*?)```", README.read_text("utf-8"),
                       re.S)
    assert recipe, "README.md lost its verification recipe"
    script = tmp_path / "verify.py"
    script.write_text(recipe.group(1), encoding="utf-8")
    p = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("ok: "), p.stderr
    actions = [json.loads(line)["action"] for line in out.read_text("utf-8").splitlines()]
    assert {"decision.flag", "decision.confirm", "action.record"} <= set(actions)
