"""The learned model: a plain data file, trained deterministically, combined with the rules."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ringebu_journal.errors import InputError
from ringebu_journal.judge import ContextItem, Judge, load_policy
from ringebu_journal.judge.engine import normalise
from ringebu_journal.judge.model import LABELS, _features, _word_features, load_model, parse_model
from ringebu_journal.judge.training import default_model_path, shipped_corpora, train

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_model_equals_a_fresh_training():
    """The default model is exactly what training on the shipped corpora gives, byte for byte."""
    fresh = train(shipped_corpora())
    shipped = default_model_path().read_bytes()
    assert hashlib.sha256(fresh).hexdigest() == hashlib.sha256(shipped).hexdigest(), (
        "the shipped model is stale: run `python -m ringebu_journal.judge.training`")


def test_model_file_is_plain_json_and_names_its_training_files():
    data = default_model_path().read_bytes()
    obj = json.loads(data)
    assert obj["labels"] == list(LABELS)
    assert {f["name"] for f in obj["trained_on"]} == {p.name for p in shipped_corpora()}
    for lab in LABELS:
        assert len(obj["weights"][lab]) == len(obj["vocabulary"])
    model = load_model()
    assert model.sha256 == hashlib.sha256(data).hexdigest()
    # the test corpora of the project (bench/corpus) are not among the training files, by name
    # or by content
    tests = list((ROOT / "bench" / "corpus").glob("*.jsonl"))
    assert tests
    trained = {f["name"] for f in obj["trained_on"]} | {f["sha256"] for f in obj["trained_on"]}
    for t in tests:
        assert t.name not in trained and hashlib.sha256(t.read_bytes()).hexdigest() not in trained, t.name


def test_run_time_lookup_finds_exactly_the_training_features():
    """Inference looks character n-grams up by hash; it must find the same vocabulary entries as
    the string features training used, on every shipped text."""
    model = load_model()
    n = 0
    for path in shipped_corpora():
        for line in path.read_text(encoding="utf-8").splitlines():
            text = normalise(json.loads(line)["text"])
            feats, _ = _features(text)
            want = sorted(model.index[f] for f in feats if f in model.index)
            word_feats, _, joined = _word_features(text)
            assert model.ids(word_feats, joined).tolist() == want, text
            n += 1
    assert n > 1000


@pytest.mark.parametrize("content, reason", [
    (b"\x80not utf-8", "not a model file"),
    (b"{}", "unknown model scheme"),
    (json.dumps({"scheme": "ringebu-features-1", "labels": list(LABELS), "vocabulary": ["w:a"],
                 "weights": {lab: [0.1] for lab in LABELS[:-1]}, "bias": {}}).encode(), "damaged model file"),
])
def test_damaged_model_files_are_refused_with_their_name(tmp_path, content, reason):
    p = tmp_path / "m.json"
    p.write_bytes(content)
    with pytest.raises(InputError) as exc:
        load_model(p)
    assert str(p) in str(exc.value) and reason in str(exc.value)


def _labelled(tmp_path: Path, name: str, rows: list[tuple[str, bool, list[str]]]) -> Path:
    p = tmp_path / name
    p.write_text("".join(json.dumps({
        "id": f"{name}-{i}", "platform": "facebook", "kind": "comment", "author": "citizen", "text": t,
        "journal": j, "screen": False, "actions": a, "hard": False}, ensure_ascii=False) + "\n"
        for i, (t, j, a) in enumerate(rows)), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def odd_model(tmp_path_factory):
    """A model taught the opposite of the rules: cake talk is a case, a complaint is not."""
    tmp = tmp_path_factory.mktemp("odd")
    rows = []
    for i in range(30):
        rows.append((f"grøtfest nummer {i} med riskrem og kake på grendehuset", True, ["refer_post"]))
        rows.append((f"jeg klager på vedtaket nummer {i} om noe", False, ["thank"]))
        rows.append((f"fint vær i dag {i} på fjellet", False, []))
    return parse_model(train([_labelled(tmp, "odd.jsonl", rows)], count_languages=False), "odd")


def test_rules_and_model_disagreeing_go_to_review(odd_model):
    rules = Judge(load_policy(), model=None)
    hybrid = Judge(load_policy(), model=odd_model)
    text = "Jeg klager på vedtaket om skoleskyss for sønnen min."
    assert rules.judge(text).decision.value == "journal"
    res = hybrid.judge(text)
    assert res.decision.value == "review"
    model_reason = next(r for r in res.reasons if r.rule == "modell.sak")
    assert "modellen er uenig" in model_reason.description and "journal → review" in model_reason.effect
    assert res.model_hash == odd_model.sha256 and res.policy_hash == rules.policy.sha256
    # the model sees a case the rules do not: a person looks
    cake = "grøtfest med riskrem og kake på grendehuset"
    assert rules.judge(cake).decision.value in ("archive", "exclude")
    res = hybrid.judge(cake)
    assert res.decision.value == "review" and "refer_post" in [a.value for a in res.actions]
    line = next(r.line() for r in res.reasons if r.rule == "modell.sak")
    assert "sterkeste trekk" in line and ("grøtfest" in line or "riskrem" in line or "kake" in line)


def test_agreement_decides_automatically_and_reasons_name_features():
    judge = Judge(load_policy())
    res = judge.judge("Jeg klager på vedtaket om skoleskyss for sønnen min.")
    assert res.decision.value == "journal"
    line = next(r.line() for r in res.reasons if r.rule == "modell.sak")
    assert "sannsynlighet for sak" in line and "sterkeste trekk" in line
    assert res.model_hash == load_model().sha256


def test_unknown_language_addressed_to_the_municipality_goes_to_review():
    judge = Judge(load_policy())
    assert judge.model.languages.get("fi", 0) < judge.policy.model["unknown_min_cases"]
    text = "Haluaisin tietää, miten poikani voidaan ilmoittaa kesäkouluun ensi kuussa."
    res = judge.judge(text)
    assert res.decision.value == "review" and res.language == "fi"
    assert any(r.rule == "modell.ukjent_sprak" for r in res.reasons)
    # what nobody has read yet is proposed for screening until a person has
    assert res.screening.screen and any("modell.ukjent_sprak" in r for r in res.screening.reasons)
    # the same words answering another citizen are not addressed to the municipality
    other = judge.judge(text, context=[ContextItem("Noen som vet når skolen starter?", False)])
    assert not any(r.rule == "modell.ukjent_sprak" for r in other.reasons)
    # a Norwegian message never pays for language identification
    assert judge.judge("Når åpner biblioteket i påsken?").language is None


def test_a_language_outside_the_old_short_list_is_not_taken_for_a_known_one():
    """With a detector that chose among 16 languages, Finnish was taken for Somali (a language the
    model has data for), and the model's view was trusted on text it had never seen."""
    from ringebu_journal.judge.language import detect_language
    assert detect_language("Haluaisin tietää, miten poikani voidaan ilmoittaa kesäkouluun.") == "fi"
    assert detect_language("Szeretném tudni, hogyan lehet a fiamat beíratni a nyári iskolába.") == "hu"
    assert detect_language("Ik wil graag weten hoe ik mijn zoon kan inschrijven voor school.") == "nl"
    # dialect stays Norwegian
    assert detect_language("kæm skal e sende dette åt, e ha itte fått svar") in ("nn", "nb")


def test_a_script_no_listed_language_is_written_in_is_unknown_ground():
    """Amharic (Ge'ez script) is in no language the detector knows: it is "und", never known to the
    model; and a Tigrinya message with Norwegian words in it is judged by the words the model does
    not know, not taken for Norwegian because of "barnehage"."""
    from ringebu_journal.judge.language import UNDETERMINED, detect_language, detect_unfamiliar
    amharic = "ጤና ይስጥልኝ ልጄ ትምህርት ቤት መሄድ አይፈልግም ምን ላድርግ"
    assert detect_language(amharic) == UNDETERMINED
    mixed = "ሰላም። ንሕና ካብ 1 መጋቢት ናብ Lillehammer ክንግዕዝ ኢና። barnehage ናይ ጓለይ ደው ኣብሉ በጃኹም"
    assert detect_language(mixed) == "nb"    # the whole text: only the Latin words are identifiable
    unknown = [w for w in mixed.split() if w not in ("barnehage", "Lillehammer", "1")]
    assert detect_unfamiliar(unknown, mixed) == UNDETERMINED
    # too few unknown words to tell: the whole text decides
    assert detect_unfamiliar(["kesäkouluun"], "Haluaisin tietää, miten poikani voidaan ilmoittaa kesäkouluun.") == "fi"
    judge = Judge(load_policy())
    res = judge.judge(amharic)
    assert res.decision.value == "review" and res.language == UNDETERMINED
    assert any(r.rule == "modell.ukjent_sprak" for r in res.reasons)


def test_unknown_screening_is_a_policy_setting(tmp_path):
    from ringebu_journal.judge.policy import policy_text
    _, data = policy_text()
    text = data.decode("utf-8")
    assert "unknown_screen = true" in text
    p = tmp_path / "policy.toml"
    p.write_text(text.replace("unknown_screen = true", "unknown_screen = false", 1), encoding="utf-8")
    res = Judge(load_policy(p)).judge("Haluaisin tietää, miten poikani voidaan ilmoittaa kesäkouluun ensi kuussa.")
    assert res.decision.value == "review" and not res.screening.screen
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("unknown_screen = true", "unknown_screen = 1", 1), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_policy(bad)
    assert "true or false" in str(exc.value)


def test_unknown_language_spam_is_still_removed():
    judge = Judge(load_policy())
    res = judge.judge("Hambalyo! Waxaad ku guulaysatay abaalmarin, guji halkan: https://bit.ly/3kXy9aQ")
    assert res.decision.value == "exclude" and "remove" in [a.value for a in res.actions]


def test_rules_only_when_the_policy_switches_the_model_off(tmp_path):
    from ringebu_journal.judge.policy import policy_text
    _, data = policy_text()
    text = data.decode("utf-8").replace("[model]\n", "[model]\nenabled = false\n", 1)
    p = tmp_path / "policy.toml"
    p.write_text(text, encoding="utf-8")
    judge = Judge(load_policy(p))
    assert judge.model is None and judge.judge("Jeg klager på vedtaket.").model_hash == ""


@pytest.mark.parametrize("snippet, reason", [
    ("review_budget = 2\n", "between 0 and 1"),
    ("language_magic = 1\n", "unknown key(s) in [model]"),
    ("enabled = 'yes'\n", "true or false"),
])
def test_bad_model_settings_are_reported(tmp_path, snippet, reason):
    from ringebu_journal.judge.policy import policy_text
    _, data = policy_text()
    p = tmp_path / "policy.toml"
    p.write_text(data.decode("utf-8").replace("[model]\n", "[model]\n" + snippet, 1), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_policy(p)
    assert reason in str(exc.value)


def test_train_command_is_deterministic(tmp_path):
    src = _labelled(tmp_path, "small.jsonl", [
        (f"jeg søker om plass i barnehagen for {n}", True, ["refer_post"]) for n in range(12)] + [
        (f"takk for en fin konsert {n}", False, ["thank"]) for n in range(12)])
    outs = []
    for name in ("a.json", "b.json"):
        p = subprocess.run([sys.executable, "-m", "ringebu_journal.cli.main", "train", str(src), "--out", str(tmp_path / name)],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert "trained on 24 citizen messages" in p.stdout
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]
    p = subprocess.run([sys.executable, "-m", "ringebu_journal.cli.main", "train", str(tmp_path / "missing.jsonl"), "--out",
                        str(tmp_path / "c.json")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "labelled file not found" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "c.json").exists()



_ODD_JSON = [b'{"a":1,"a":2}', b'[NaN]', b'[-Infinity]', b'[1e400]', b'[1.7976931348623159e308]', b'["\\ud800"]',
             b'\xef\xbb\xbf{"a":1}', b'["\xff"]', b'["\xed\xa0\x80"]', b'[-0.0]', b'[4.9e-324]', b'[2.4e-324]',
             b'[0.30000000000000004441]', b'[123456789012345678901234567890]', b'[123456789012345678901234567890.5]',
             b'[01]', b'[1.]', b'{"a":1}x', b'[1,]', b'["a\x01"]', b' {"a" : [ ] } ', b'["\\u0000"]', b'']


@pytest.mark.parametrize("content", _ODD_JSON)
def test_a_model_file_reads_as_json_loads_reads_it(content):
    """The model file is read with msgspec (faster), and whatever msgspec refuses by json.loads:
    the same value, or the same error, as json.loads alone."""
    from ringebu_journal.judge.model import read_json

    def outcome(read):
        try:
            return "value", repr(read())
        except Exception as e:     # noqa: BLE001 - the error's kind is what is compared
            return "error", type(e).__name__
    assert outcome(lambda: read_json(content)) == outcome(lambda: json.loads(content.decode("utf-8")))


def test_the_shipped_model_and_random_floats_read_bit_for_bit_as_json_loads():
    import random
    import struct

    from ringebu_journal.judge.model import read_json
    data = default_model_path().read_bytes()
    fast, slow = read_json(data), json.loads(data)
    assert fast == slow and list(fast) == list(slow)
    bits = struct.Struct("<d")
    for lab in LABELS:
        assert [bits.pack(x) for x in fast["weights"][lab]] == [bits.pack(x) for x in slow["weights"][lab]]
    rnd = random.Random(11)
    values = [struct.unpack("<d", rnd.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20_000)]
    values = [v for v in values if v == v and abs(v) != float("inf")]
    values += [rnd.uniform(-3, 3) for _ in range(20_000)]
    # written as training writes them, and with more digits than a double holds
    texts = [json.dumps(values).encode(), ("[" + ",".join(f"{v:.25e}" for v in values) + "]").encode()]
    for text in texts:
        assert [bits.pack(x) for x in read_json(text)] == [bits.pack(x) for x in json.loads(text)]
    model = load_model()
    assert model.sha256 == hashlib.sha256(data).hexdigest()
