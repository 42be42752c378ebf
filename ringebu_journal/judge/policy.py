"""The judge's policy: rules archive staff can read and adjust, loaded from TOML and validated.

A policy file has a ``[policy]`` table (version, name), ``[thresholds]`` (how much case evidence
makes a journal decision or a review), ``[[condition]]`` tables (question forms, negation …) and
``[[rule]]`` tables, ``[categories]`` (every category a rule may name, with the role that tells the
judge what it means: a case, praise, political, to remove …) and ``[own_matter]`` (the words of the
one fallback the judge applies after the rules). The engine holds no vocabulary of its own: every
word it looks for is in this file.

Every mistake is reported as an ``InputError`` naming the file, the line and the rule id, so the
person who edited the file can find it; a file with several mistakes gets them all in one error
(``PolicyErrors``, one line each), so they can be fixed in one go.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ringebu_journal.errors import InputError
from ringebu_journal.models import Action

from .detectors import DETECTORS, LureLists

DEFAULT_POLICY = "default_policy.toml"

#: The roles a category can have: what the judge does with a message in a category of that role.
ROLES: dict[str, str] = {
    "case": "a kind of case (søknad, klage …); the evidence decides, the category names it",
    "topic": "a municipal topic (a question, criticism): archived when no case",
    "praise": "praise: no own-matter fallback unless the writer also states a need",
    "political": "political: no own-matter fallback",
    "municipal_field": "one of the municipality's fields: the writer's own matter in it goes to review",
    "to_others": "a question to other citizens: not substantive, no own-matter fallback",
    "chatter": "chatter or advertising: excluded unless something else is substantive",
    "remove": "phishing, scams, malware: removed and excluded",
    "sensitive": "sensitive content: about an identifiable other person it is exposure",
    "exposure": "the category the judge adds for exposure of someone else (one category at most)",
    "outgoing": "a duty of the municipality's own posts (compliance report)",
    "outgoing_exposure": "the municipality's own post exposes personal data: removed when screened",
    "outgoing_case": ("the municipality's reply does casework in a citizen's matter: an outgoing case "
                      "document, sent to review (compliance report too)"),
}

#: Signals steer the decision without being categories of their own.
SIGNALS = frozenset({"question", "relevant", "chatter", "joke", "third_party", "own_party",
                     "affirm", "agree", "lure"})

SCOPES = frozenset({"before", "after", "sentence", "message", "context"})
APPLIES = frozenset({"citizen", "municipality", "all"})
ACTIONS = frozenset(a.value for a in Action)

_TABLES = ("policy", "thresholds", "condition", "rule", "model", "lures", "categories", "own_matter")
_POLICY_KEYS = {"version", "name", "description", "default_hjemmel"}
_OWN_MATTER_KEYS = {"rule", "description", "effect", "own", "need"}
#: The [model] table: how the learned model and the rules are combined (probabilities 0–1). The
#: label thresholds were chosen on held-out-by-writer evaluation (bench/judge_cv.py, docs/judge.md).
MODEL_DEFAULTS: dict[str, float | bool | str] = {
    "enabled": True,
    "file": "",                   # a model file; empty: the one shipped with the program
    "review_budget": 0.20,        # the share of (non-hard) messages that may go to review
    "doubt_below": 0.45,          # the rules journal, the model below this: review
    "case_review_at": 0.36,       # the rules see no case, the model at or above this: review
    "confirm_at": 0.75,           # the rules only send to review, the model at or above this: journal
    "dismiss_below": 0.35,        # the rules only send to review, the model below this: archive (0: never)
    "screen_at": 0.35,
    "reply_at": 0.30,
    "thank_at": 0.5,
    "refer_political_at": 0.25,
    "remove_at": 0.40,
    "unknown_min_cases": 30,      # training messages in a language below which it is unknown ground
    "unknown_known_words": 0.5,   # share of known words below which the language is looked up
    "unknown_screen": True,       # unknown ground is also proposed for screening until a person has read it
}
_THRESHOLD_KEYS = {"journal", "review", "confident"}
_CONDITION_KEYS = {"id", "description", "scope", "patterns", "author"}
_RULE_KEYS = {"id", "description", "patterns", "detector", "unless", "requires", "applies_to",
              "evidence", "category", "actions", "screen", "hjemmel", "signal", "mask",
              "context_author", "context_patterns", "context_case"}
_ID = re.compile(r"^[a-z0-9_.æøå-]+$")


@dataclass(frozen=True)
class Condition:
    id: str
    description: str
    scope: str
    patterns: tuple[str, ...]
    line: int
    author: str = "any"          # context scope only: "municipality", "citizen" or "any"


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    line: int
    patterns: tuple[str, ...] = ()
    detector: str | None = None
    unless: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    applies_to: str = "citizen"
    evidence: float = 0.0
    category: str | None = None
    actions: tuple[str, ...] = ()
    screen: bool = False
    hjemmel: str | None = None
    signal: str | None = None
    mask: bool = False           # mask the matched text in the public journal
    context_author: str | None = None      # the rule needs a context item by this author …
    context_patterns: tuple[str, ...] = ()  # … whose text matches one of these
    context_case: bool = False             # … or whose text the judge finds to be a case

    def effect(self) -> str:
        """The rule's effect in a few words, for reasons and the policy documentation."""
        parts = []
        if self.evidence:
            parts.append(f"saksbevis {self.evidence:+g}")
        if self.category:
            parts.append(f"kategori {self.category}")
        if self.actions:
            parts.append("tiltak " + ", ".join(self.actions))
        if self.screen:
            parts.append("skjerming" + (f" ({self.hjemmel})" if self.hjemmel else ""))
        if self.signal:
            parts.append(f"signal {self.signal}")
        return "; ".join(parts)


@dataclass(frozen=True)
class OwnMatter:
    """The fallback after the rules: the writer's own matter in one of the municipality's fields,
    said rather than asked, goes to review. ``own``: the writer or the writer's family as the
    subject; ``need``: a need, which keeps the fallback inside praise."""

    rule: str
    description: str
    effect: str
    own: tuple[str, ...]
    need: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    version: str
    name: str
    sha256: str
    path: str
    thresholds: dict[str, float]
    default_hjemmel: str
    conditions: dict[str, Condition]
    rules: tuple[Rule, ...]
    description: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)
    model: dict = field(default_factory=lambda: dict(MODEL_DEFAULTS), compare=False)
    lures: LureLists | None = field(default=None, compare=False)
    categories: dict[str, str] = field(default_factory=dict)   # category → role
    own_matter: OwnMatter | None = None

    def with_role(self, role: str) -> frozenset[str]:
        """The categories declared with ``role``."""
        return frozenset(c for c, r in self.categories.items() if r == role)


def _line_index(text: str) -> tuple[dict[int, int], dict[int, int]]:
    """The line of each rule and condition, by its position in the file (the line of its id,
    or of its table header when it has no id).

    tomllib keeps no positions, so the lines are found in the raw text: good enough to point a
    person at the right place.
    """
    lines: dict[str, dict[int, int]] = {"rule": {}, "condition": {}}
    current, pos = None, -1
    for n, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if s.startswith("[[rule]]") or s.startswith("[[condition]]"):
            current = "rule" if s.startswith("[[rule]]") else "condition"
            pos = len(lines[current])
            lines[current][pos] = n
        elif s.startswith("["):
            current = None
        elif current and re.match(r"id\s*=", s):
            lines[current][pos] = n
    return lines["rule"], lines["condition"]


def policy_text(path: str | Path | None = None) -> tuple[str, bytes]:
    """The display path and bytes of a policy file; the shipped default when path is None."""
    if path is None:
        ref = resources.files("ringebu_journal.judge").joinpath(DEFAULT_POLICY)
        return f"<package>/ringebu_journal/judge/{DEFAULT_POLICY}", ref.read_bytes()
    p = Path(path)
    try:
        return str(p), p.read_bytes()
    except FileNotFoundError:
        raise InputError(str(p), None, "policy file not found",
                         "give the path of a TOML policy file, or leave it out for the default") from None
    except OSError as e:
        raise InputError(str(p), None, f"cannot read policy file: {e.strerror}") from None


class PolicyErrors(InputError):
    """Every mistake found in one policy file, one per line (the first one is the headline)."""

    def __init__(self, path: str, problems: list[tuple[str | None, str, str | None]]):
        super().__init__(path, *problems[0])
        self.problems = problems
        if len(problems) > 1:
            lines = [f"{path}: {len(problems)} problems in the policy file"]
            for place, reason, hint in problems:
                lines.append(f"  {path}:{place}: {reason}" if place else f"  {path}: {reason}")
                if hint:
                    lines[-1] += f" — {hint}"
            self.message = "\n".join(lines)
            self.args = (self.message,)


class _Problems:
    """Collects the mistakes of one file; the loader reads on after each one."""

    def __init__(self, where: str):
        self.where = where
        self.found: list[tuple[str | None, str, str | None]] = []

    def __call__(self, place: str | None, reason: str, hint: str | None = None) -> None:
        self.found.append((place, reason, hint))

    def raise_any(self) -> None:
        if self.found:
            raise PolicyErrors(self.where, self.found)


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file (the shipped default when ``path`` is None)."""
    where, data = policy_text(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(where, None, f"not UTF-8 ({e.reason} at byte {e.start})",
                         "save the policy file as UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise InputError(where, f"line {m.group(1)}" if m else None, f"not valid TOML: {e}",
                         "check quotes and brackets; regular expressions are easiest in '…' literal strings") from None
    return _build(where, text, data, raw)


def _build(where: str, text: str, data: bytes, raw: dict) -> Policy:
    """Validate every part of the file, collecting all mistakes, then build the policy."""
    fail = _Problems(where)
    rule_lines, cond_lines = _line_index(text)
    unknown = set(raw) - set(_TABLES)
    if unknown:
        fail(None, f"unknown table(s): {', '.join(sorted(unknown))}",
             "a policy has [policy], [thresholds], [model], [lures], [categories], [own_matter], "
             "[[condition]] and [[rule]]")
    lures = _lures(raw.get("lures"), fail)
    meta = _meta(raw.get("policy"), fail)
    th = _thresholds(raw.get("thresholds", {}), fail)
    model = _model(raw.get("model", {}), fail)
    categories = _categories(raw.get("categories", {}), fail)
    own_matter = _own_matter(raw.get("own_matter"), fail)
    conditions = _conditions(raw.get("condition", []), cond_lines, fail)
    rules = _rules(raw.get("rule", []), rule_lines, conditions, categories, fail)
    if not raw.get("rule"):
        fail(None, "the policy has no rules")
    fail.raise_any()
    return Policy(
        version=meta["version"], name=str(meta.get("name", "")), sha256=hashlib.sha256(data).hexdigest(),
        path=where, thresholds=th,
        default_hjemmel=str(meta.get("default_hjemmel", "Offl. § 13 jf. fvl. § 13 første ledd nr. 1")),
        conditions=conditions, rules=tuple(rules), description=str(meta.get("description", "")), raw=raw,
        model=model, lures=lures, categories=categories, own_matter=own_matter,
    )


def _meta(meta, fail) -> dict:
    """The [policy] table: a version is required."""
    if not isinstance(meta, dict) or not isinstance(meta.get("version"), str) or not meta["version"]:
        fail(None, "missing [policy] version", 'add [policy] with version = "…"')
        return {"version": "", **(meta if isinstance(meta, dict) else {})}
    if bad := set(meta) - _POLICY_KEYS:
        fail(None, f"unknown key(s) in [policy]: {', '.join(sorted(bad))}")
    return meta


def _thresholds(thresholds, fail) -> dict[str, float]:
    """The [thresholds] table: evidence for journal, review and full confidence."""
    th = {"journal": 2.0, "review": 1.0, "confident": 3.0}
    if not isinstance(thresholds, dict):
        fail(None, "[thresholds] must be a table")
        return th
    if bad := set(thresholds) - _THRESHOLD_KEYS:
        fail(None, f"unknown key(s) in [thresholds]: {', '.join(sorted(bad))}",
             f"allowed: {', '.join(sorted(_THRESHOLD_KEYS))}")
    for k, v in thresholds.items():
        if k not in _THRESHOLD_KEYS:
            continue
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            fail(None, f"[thresholds] {k} must be a number")
            continue
        th[k] = float(v)
    if not th["review"] <= th["journal"]:
        fail(None, "[thresholds] review must not be above journal")
    return th


def _model(given, fail) -> dict:
    """The [model] table: how the learned model and the rules are combined."""
    model = dict(MODEL_DEFAULTS)
    if not isinstance(given, dict):
        fail(None, "[model] must be a table")
        return model
    if bad := set(given) - set(MODEL_DEFAULTS):
        fail(None, f"unknown key(s) in [model]: {', '.join(sorted(bad))}",
             f"allowed: {', '.join(sorted(MODEL_DEFAULTS))}")
    for k, v in given.items():
        if k not in MODEL_DEFAULTS:
            continue
        want = MODEL_DEFAULTS[k]
        if isinstance(want, bool) or isinstance(want, str):
            if type(v) is not type(want):
                fail(None, f"[model] {k} must be {'true or false' if isinstance(want, bool) else 'text'}")
                continue
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            fail(None, f"[model] {k} must be a number")
            continue
        elif k != "unknown_min_cases" and not 0.0 <= float(v) <= 1.0:
            fail(None, f"[model] {k} must be between 0 and 1")
            continue
        model[k] = v
    return model


def _categories(table, fail) -> dict[str, str]:
    """The [categories] table: each category a rule may name, with its role."""
    if not isinstance(table, dict):
        fail(None, "[categories] must be a table", 'for example klage = "case"')
        return {}
    out: dict[str, str] = {}
    for name, role in table.items():
        if not _ID.match(name):
            fail(None, f"[categories] {name!r} is not a valid category name", "lower case letters, digits, . _ -")
        elif role not in ROLES:
            fail(None, f"[categories] {name}: unknown role {role!r}", f"use one of {', '.join(ROLES)}")
        else:
            out[name] = role
    if len([c for c, r in out.items() if r == "exposure"]) > 1:
        fail(None, "[categories] more than one category with the role exposure", "the judge adds one category for exposure")
    return out


def _own_matter(table, fail) -> OwnMatter | None:
    """The [own_matter] table, or None: without it the judge has no fallback after the rules."""
    if table is None:
        return None
    if not isinstance(table, dict):
        fail(None, "[own_matter] must be a table")
        return None
    if bad := set(table) - _OWN_MATTER_KEYS:
        fail(None, f"unknown key(s) in [own_matter]: {', '.join(sorted(bad))}",
             f"allowed: {', '.join(sorted(_OWN_MATTER_KEYS))}")
    ok = True
    for key in ("rule", "description", "effect"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            fail(None, f"[own_matter] {key} must be text")
            ok = False
    own = _patterns(table.get("own"), "[own_matter] own", fail)
    need = _patterns(table.get("need"), "[own_matter] need", fail)
    if not own:
        fail(None, "[own_matter] needs patterns in own")
        ok = False
    if not ok:
        return None
    return OwnMatter(table["rule"].strip(), table["description"].strip(), table["effect"].strip(), own, need)


def _conditions(items, lines: dict[int, int], fail) -> dict[str, Condition]:
    """The [[condition]] tables, by id."""
    conditions: dict[str, Condition] = {}
    if not isinstance(items, list):
        fail(None, "condition must be an array of tables", "write each as [[condition]]")
        return conditions
    for i, c in enumerate(items):
        cid = c.get("id") if isinstance(c, dict) else None
        line = lines.get(i, 0)
        place = f"line {line}, condition {cid or '?'}"
        if not isinstance(cid, str) or not _ID.match(cid):
            fail(place, "condition without a valid id", "ids are lower case letters, digits, . _ -")
            continue
        if cid in conditions:
            fail(place, f"duplicate condition id {cid!r}", f"first defined on line {conditions[cid].line}")
            continue
        n = len(fail.found)
        if bad := set(c) - _CONDITION_KEYS:
            fail(place, f"unknown key(s): {', '.join(sorted(bad))}", f"allowed: {', '.join(sorted(_CONDITION_KEYS))}")
        scope = c.get("scope", "sentence")
        if scope not in SCOPES:
            fail(place, f"unknown scope {scope!r}", f"use one of {', '.join(sorted(SCOPES))}")
        author = c.get("author", "any")
        if author not in ("any", "citizen", "municipality"):
            fail(place, f"unknown author {author!r}", "use any, citizen or municipality")
        pats = _patterns(c.get("patterns"), place, fail)
        if not pats and c.get("patterns") is None:
            fail(place, "a condition needs patterns")
        desc = _desc(c, place, fail)
        if len(fail.found) == n:
            conditions[cid] = Condition(cid, desc, scope, pats, line, author)
        else:   # known, so rules naming it are not reported too; never used (the load fails)
            conditions[cid] = Condition(cid, desc or "", "sentence", (), line)
    return conditions


def _rules(items, lines: dict[int, int], conditions: dict[str, Condition], categories: dict[str, str],
           fail) -> list[Rule]:
    """The [[rule]] tables in file order."""
    rules: list[Rule] = []
    if not isinstance(items, list):
        fail(None, "rule must be an array of tables", "write each as [[rule]]")
        return rules
    seen: dict[str, int] = {}
    for i, r in enumerate(items):
        rid = r.get("id") if isinstance(r, dict) else None
        line = lines.get(i, 0)
        place = f"line {line}, rule {rid or '?'}"
        if not isinstance(rid, str) or not _ID.match(rid):
            fail(place, "rule without a valid id", "ids are lower case letters, digits, . _ -")
            continue
        if rid in seen:
            fail(place, f"duplicate rule id {rid!r}", f"first defined on line {seen[rid]}")
            continue
        seen[rid] = line
        rule = _rule(r, rid, line, place, conditions, categories, fail)
        if rule is not None:
            rules.append(rule)
    return rules


def _rule(r: dict, rid: str, line: int, place: str, conditions: dict[str, Condition],
          categories: dict[str, str], fail) -> Rule | None:
    """One rule, or None when it has a mistake (reported through ``fail``)."""
    n = len(fail.found)
    if bad := set(r) - _RULE_KEYS:
        fail(place, f"unknown key(s): {', '.join(sorted(bad))}", f"allowed: {', '.join(sorted(_RULE_KEYS))}")
    pats = _patterns(r.get("patterns"), place, fail)
    det = r.get("detector")
    if det is not None and det not in DETECTORS:
        fail(place, f"unknown detector {det!r}", f"use one of {', '.join(sorted(DETECTORS))}")
    if not pats and det is None and r.get("patterns") is None:
        fail(place, "a rule needs patterns or a detector")
    refs: dict[str, tuple[str, ...]] = {}
    for key in ("unless", "requires"):
        refs[key] = _strs(r.get(key, []), place, key, fail)
        for cid in refs[key]:
            if cid not in conditions:
                fail(place, f"{key} names unknown condition {cid!r}",
                     f"defined conditions: {', '.join(sorted(conditions))}")
    applies = r.get("applies_to", "citizen")
    if applies not in APPLIES:
        fail(place, f"unknown applies_to {applies!r}", "use citizen, municipality or all")
    ev = r.get("evidence", 0.0)
    if not isinstance(ev, (int, float)) or isinstance(ev, bool):
        fail(place, "evidence must be a number")
        ev = 0.0
    cat = r.get("category")
    if cat is not None and cat not in categories:
        fail(place, f"unknown effect: category {cat!r}",
             f"declare it in [categories] with its role, or use one of {', '.join(sorted(categories)) or '(none declared)'}")
    acts = _strs(r.get("actions", []), place, "actions", fail)
    for a in acts:
        if a not in ACTIONS:
            fail(place, f"unknown effect: action {a!r}", f"use one of {', '.join(sorted(ACTIONS))}")
    sig = r.get("signal")
    if sig is not None and sig not in SIGNALS:
        fail(place, f"unknown effect: signal {sig!r}", f"use one of {', '.join(sorted(SIGNALS))}")
    for key in ("screen", "mask", "context_case"):
        if not isinstance(r.get(key, False), bool):
            fail(place, f"{key} must be true or false")
    ctx_author = r.get("context_author")
    if ctx_author not in (None, "any", "citizen", "municipality"):
        fail(place, f"unknown context_author {ctx_author!r}", "use any, citizen or municipality")
    ctx_pats = _patterns(r.get("context_patterns"), place, fail)
    hj = r.get("hjemmel")
    if hj is not None and not isinstance(hj, str):
        fail(place, "hjemmel must be text")
    if not (ev or cat or acts or r.get("screen") or sig):
        fail(place, "the rule has no effect",
             "give it evidence, a category, actions, screen = true or a signal")
    desc = _desc(r, place, fail)
    if len(fail.found) > n:
        return None
    return Rule(
        id=rid, description=desc, line=line, patterns=pats, detector=det,
        unless=refs["unless"], requires=refs["requires"],
        applies_to=applies, evidence=float(ev), category=cat, actions=acts,
        screen=bool(r.get("screen", False)), hjemmel=hj, signal=sig,
        mask=bool(r.get("mask", False)), context_author=ctx_author, context_patterns=ctx_pats,
        context_case=bool(r.get("context_case", False)),
    )


_LURE_LISTS = ("short_brands", "trusted", "shorteners", "free_hosting", "suspicious_tlds", "own_lure_tokens",
               "host_lure_words")


def _lures(table, fail) -> LureLists:
    """The [lures] table: brands and domain lists the link detectors use."""
    if table is None:          # no lists: links are judged by their form alone (IP, punycode, path)
        table = {}
    if not isinstance(table, dict):
        fail(None, "[lures] must be a table")
        table = {}
    if bad := set(table) - set(_LURE_LISTS) - {"brands"}:
        fail(None, f"unknown key(s) in [lures]: {', '.join(sorted(bad))}",
             f"allowed: brands, {', '.join(_LURE_LISTS)}")
    brands = table.get("brands", {})
    if not isinstance(brands, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(d, str) for d in v) for k, v in brands.items()):
        fail(None, "[lures] brands must map each brand to a list of its real domains",
             'for example brands = { posten = ["posten.no", "bring.no"] }')
        brands = {}
    lists = {}
    for key in _LURE_LISTS:
        v = table.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            fail(None, f"[lures] {key} must be a list of strings")
            v = []
        lists[key] = frozenset(x.lower() for x in v)
    return LureLists(brands={k.lower(): tuple(d.lower() for d in v) for k, v in brands.items()}, **lists)


def _desc(obj: dict, place: str, fail) -> str:
    d = obj.get("description")
    if not isinstance(d, str) or not d.strip():
        fail(place, "missing description", "describe in Norwegian what the rule recognises")
        return ""
    return d.strip()


def _strs(value, place: str, key: str, fail) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail(place, f"{key} must be a list of strings")
        return ()
    return tuple(value)


def _patterns(value, place: str, fail) -> tuple[str, ...]:
    if value is None:
        return ()
    pats = _strs(value, place, "patterns", fail)
    good = []
    for p in pats:
        try:
            re.compile(p)
        except re.error as e:
            fail(place, f"bad regular expression {p!r}: {e}",
                 "test the pattern; remember that patterns see lower-case text")
        else:
            good.append(p)
    return tuple(good)
