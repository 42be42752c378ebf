"""Loading and validating policy files: every mistake names the rule and its line."""

import hashlib
from pathlib import Path

import pytest

from ringebu_journal.errors import InputError
from ringebu_journal.judge import Judge, load_policy
from ringebu_journal.judge.policy import policy_text

GOOD = """\
[policy]
version = "test-1"
name = "Test"

[thresholds]
journal = 2.0
review = 1.5

[categories]
klage = "case"

[[condition]]
id = "sporsmal"
description = "Spørreord før treffet"
scope = "before"
patterns = ['\\bhvordan\\b']

[[rule]]
id = "klage.verb"
description = "Innbyggeren klager"
patterns = ['\\bklager\\b']
unless = ["sporsmal"]
evidence = 2.5
category = "klage"
"""


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The line number of the nth line containing needle."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[nth - 1]


RULE_LINE = line_of(GOOD, 'id = "klage.verb"')


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "policy.toml"
    p.write_text(text, encoding="utf-8")
    return p


def error_of(tmp_path: Path, text: str) -> InputError:
    with pytest.raises(InputError) as exc:
        load_policy(write(tmp_path, text))
    return exc.value


def test_default_policy_loads_with_version_and_hash():
    policy = load_policy()
    _, data = policy_text(None)
    assert policy.version
    assert policy.sha256 == hashlib.sha256(data).hexdigest()
    assert len(policy.rules) > 40
    result = Judge(policy).judge("Jeg klager på vedtaket.")
    assert result.policy_version == policy.version
    assert result.policy_hash == policy.sha256


def test_custom_policy_file(tmp_path):
    policy = load_policy(write(tmp_path, GOOD))
    judge = Judge(policy)
    assert judge.judge("Jeg klager på gebyret").decision.value == "journal"
    assert judge.judge("Hvordan klager man?").decision.value == "exclude"
    assert policy.sha256 == hashlib.sha256(GOOD.encode()).hexdigest()


def test_unknown_key_names_rule_and_line(tmp_path):
    text = GOOD + 'colour = "blå"\n'
    err = error_of(tmp_path, text)
    assert f"line {RULE_LINE}, rule klage.verb" in str(err)
    assert "colour" in str(err)


def test_bad_regex_names_rule_and_line(tmp_path):
    err = error_of(tmp_path, GOOD.replace("'\\bklager\\b'", "'(klager'"))
    assert f"line {RULE_LINE}, rule klage.verb" in str(err)
    assert "bad regular expression" in str(err)


@pytest.mark.parametrize("line, what", [
    ('category = "klagesang"', "category"),
    ('actions = ["ring_ordføreren"]', "action"),
    ('signal = "banning"', "signal"),
])
def test_unknown_effect(tmp_path, line, what):
    text = GOOD.replace('category = "klage"', line)
    err = error_of(tmp_path, text)
    assert "rule klage.verb" in str(err) and f"unknown effect: {what}" in str(err)


def test_duplicate_rule_id(tmp_path):
    text = GOOD + "\n" + GOOD[GOOD.index("[[rule]]"):]
    err = error_of(tmp_path, text)
    assert "duplicate rule id 'klage.verb'" in str(err)
    assert f"first defined on line {RULE_LINE}" in str(err)
    second = line_of(text, 'id = "klage.verb"', 2)
    assert f"line {second}, rule klage.verb" in str(err)


def test_unknown_condition(tmp_path):
    err = error_of(tmp_path, GOOD.replace('unless = ["sporsmal"]', 'unless = ["spørsmål"]'))
    assert "rule klage.verb" in str(err) and "unknown condition" in str(err)


def test_unknown_detector(tmp_path):
    err = error_of(tmp_path, GOOD.replace("patterns = ['\\bklager\\b']", 'detector = "tankelesing"'))
    assert "unknown detector 'tankelesing'" in str(err)


def test_rule_without_effect(tmp_path):
    text = GOOD.replace("evidence = 2.5\n", "").replace('category = "klage"\n', "")
    err = error_of(tmp_path, text)
    assert "the rule has no effect" in str(err)


def test_missing_description(tmp_path):
    err = error_of(tmp_path, GOOD.replace('description = "Innbyggeren klager"\n', ""))
    assert f"line {RULE_LINE}, rule klage.verb" in str(err) and "missing description" in str(err)


def test_toml_syntax_error_has_line(tmp_path):
    err = error_of(tmp_path, GOOD.replace('evidence = 2.5', 'evidence = = 2.5'))
    assert f"line {line_of(GOOD, 'evidence = 2.5')}" in str(err) and "not valid TOML" in str(err)


def test_missing_version(tmp_path):
    err = error_of(tmp_path, GOOD.replace('version = "test-1"\n', ""))
    assert "missing [policy] version" in str(err)


def test_missing_file():
    with pytest.raises(InputError, match="policy file not found"):
        load_policy("/nonexistent/policy.toml")


def test_bad_condition_scope(tmp_path):
    err = error_of(tmp_path, GOOD.replace('scope = "before"', 'scope = "everywhere"'))
    assert "condition sporsmal" in str(err) and "unknown scope" in str(err)


def test_every_mistake_in_a_file_is_reported_at_once(tmp_path):
    """A file with several mistakes names each of them, with its line, in one error."""
    text = (GOOD.replace("'\\bklager\\b'", "'(klager'")
            .replace('scope = "before"', 'scope = "everywhere"')
            + "\n[[rule]]\nid = \"ros.takk\"\ndescription = \"Takk\"\npatterns = ['takk']\ncategory = \"ros\"\n")
    text = text.replace("[thresholds]", "[thresholds]\nsnill = 1")
    err = error_of(tmp_path, text)
    msg = str(err)
    assert "4 problems in the policy file" in msg
    assert "unknown key(s) in [thresholds]: snill" in msg
    assert "unknown scope 'everywhere'" in msg
    klage_line = line_of(text, 'id = "klage.verb"')
    assert f"line {klage_line}, rule klage.verb: bad regular expression" in msg
    ros_line = line_of(text, 'id = "ros.takk"')
    assert f"line {ros_line}, rule ros.takk: unknown effect: category 'ros'" in msg
    assert len(err.problems) == 4
    assert all(line.startswith("  ") for line in msg.splitlines()[1:])


def test_categories_are_declared_with_a_known_role(tmp_path):
    err = error_of(tmp_path, GOOD.replace('klage = "case"', 'klage = "sak"'))
    assert "[categories] klage: unknown role 'sak'" in str(err)
    policy = load_policy()
    assert policy.categories["virus"] == "remove"
    assert policy.with_role("praise") == {"ros"}


def test_the_judge_takes_the_meaning_of_categories_from_their_role(tmp_path):
    """A category is what its role says, whatever its name: the engine knows no category names."""
    text = GOOD.replace('klage = "case"', 'klage = "case"\nlureri = "remove"') + (
        "\n[[rule]]\nid = \"lureri.gevinst\"\ndescription = \"Gevinst\"\npatterns = ['gevinst']\n"
        "category = \"lureri\"\n")
    judge = Judge(load_policy(write(tmp_path, text)), model=None)
    result = judge.judge("Du har vunnet en gevinst")
    assert result.decision.value == "exclude"
    assert [a.value for a in result.actions] == ["remove"]


def test_own_matter_fallback_comes_from_the_policy(tmp_path):
    """The fallback after the rules (own matter in a municipal field) is the policy's [own_matter];
    without that table there is none."""
    base = GOOD.replace('klage = "case"', 'klage = "case"\nveg = "municipal_field"') + (
        "\n[[rule]]\nid = \"felt.veg\"\ndescription = \"Veg\"\npatterns = ['brøyting']\n"
        "category = \"veg\"\n")
    own = ('\n[own_matter]\nrule = "sak.eget"\ndescription = "Egen sak"\neffect = "til vurdering"\n'
           "own = ['\\bvår\\b']\n")
    text = "Brøytinga i vår gate er ikke gjort"
    without = Judge(load_policy(write(tmp_path, base)), model=None).judge(text)
    assert without.decision.value == "archive"
    (tmp_path / "own.toml").write_text(base.replace("[[condition]]", own + "\n[[condition]]", 1), encoding="utf-8")
    withit = Judge(load_policy(tmp_path / "own.toml"), model=None).judge(text)
    assert withit.decision.value == "review"
    assert [r.rule for r in withit.reasons][-1] == "sak.eget"
