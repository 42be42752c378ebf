"""The content judge: one pass of the policy's rules over a message, then a decision.

The judge never sees the platform or the message kind: the same text in the same thread context
gets the same result on Facebook, Messenger, Instagram and X. The engine holds no vocabulary: every
expression, category and fallback comes from the policy (categories by their declared role). The author matters only in one
way: the municipality's own posts and replies are outgoing, so they are archived and checked
for the guideline's duties instead of being judged as incoming cases; a reply doing casework in a
citizen's matter in the thread is an outgoing case document and goes to review (never journal
automatically).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Sequence

from ringebu_journal.models import Action, Decision, JudgmentResult, Reason, ScreeningProposal

from .detectors import (DETECTORS, SENSITIVE, Hit, find_lure_links, find_sensitive, find_suspicious_links,
                        link_classifier)
from .fastscan import RuleIndex, word_prefixes
from .policy import Condition, Policy, Rule, load_policy

if TYPE_CHECKING:
    from .model import Score, TextModel

Relation = Literal["parent", "root", "sibling"]


@dataclass(frozen=True)
class ContextItem:
    """A message from the same thread that helps to understand the one being judged."""

    text: str
    author_is_municipality: bool = False
    relation: Relation = "parent"


# Format characters (Unicode category Cf: zero-width space and joiners, soft hyphen, bidi marks,
# the byte order mark, tag characters …) are invisible: "sø\u00adknad" and "klag\u200be" are the
# words a reader sees. They are dropped before the rules and the model see the text. The class
# is every Cf character of Unicode 14 (Python 3.11); a test checks it against unicodedata.
_FORMAT = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")
_SPACE = re.compile(r"[^\S\n]+")
# Only rewrite spaces when there is something to rewrite (the common case is plain text).
_ODD_SPACE = re.compile("  |[\t\r\f\v\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "´": "'", "`": "'", "“": '"', "”": '"', "«": '"', "»": '"',
                         "–": "-", "—": "-"})
_QUOTE_CHARS = re.compile("[’‘´`“”«»–—]")
# Sentence ends: punctuation before a space or the end, or a line break. Every alternative
# starts with a literal character, so the engine scans for them quickly.
_SENTENCE_END = re.compile(r"\.[.!?]*(?=\s|$)|![.!?]*(?=\s|$)|\?[.!?]*(?=\s|$)|\n+")

_ACTION_ORDER = [(a, a.value) for a in Action]   # in the guideline's order, each with its value
_REPLY, _THANK, _REFER_POST, _REFER_POLITICAL, _REMOVE = (
    Action.reply.value, Action.thank.value, Action.refer_post.value, Action.refer_political.value,
    Action.remove.value)


def _built(cls, **fields):
    """A pydantic model from fields the judge built itself and knows to be valid.

    Like ``model_construct`` without its per-field default handling: every field is given here.
    Validation would cost more than the judging itself; the tests check the results dump and
    validate as normal models."""
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", fields)
    object.__setattr__(obj, "__pydantic_fields_set__", set(fields))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def normalise(text: str) -> str:
    """Format characters (Cf) dropped, NFKC, lower case (æøå kept), one kind of quote and dash,
    single spaces; newlines kept."""
    if not text.isascii():
        text = _FORMAT.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    if _QUOTE_CHARS.search(text):
        text = text.translate(_QUOTES)
    text = text.lower()
    if _ODD_SPACE.search(text):
        text = _SPACE.sub(" ", text)
    return text.strip()


# The thread context is normalised wherever a stage reads it (the model, context conditions, rules
# with context); the same parent or post stands beside every reply under it, so its normalised
# text is kept (normalise is a pure function of the text).
_context_norm = functools.lru_cache(maxsize=4096)(normalise)


@dataclass
class _Compiled:
    rule: Rule
    has_patterns: bool        # its patterns are searched through the rule index (``RuleIndex``)
    pos: int                  # place in the rule index of its author group
    unless: tuple[tuple[Condition, re.Pattern], ...]   # one combined expression per scope
    requires: tuple[tuple[Condition, re.Pattern], ...]
    ctx_rx: re.Pattern | None


@dataclass
class _Fired:
    rule: Rule
    matched: str
    detail: str = ""


class _Message:
    """One message prepared once: normalised text and sentence boundaries."""

    __slots__ = ("orig", "norm", "_ends", "context", "_det")

    def __init__(self, text: str, context: Sequence[ContextItem]):
        self.orig = text
        self.norm = normalise(text)
        self._ends: list[int] | None = None   # found when a condition first needs a sentence
        self.context = context
        self._det: dict[str, list[Hit]] = {}

    def sentence(self, start: int, end: int) -> tuple[int, int]:
        ends = self._ends
        if ends is None:
            ends = self._ends = [m.end() for m in _SENTENCE_END.finditer(self.norm)]
        i = bisect.bisect_right(ends, start)
        s = ends[i - 1] if i else 0
        j = bisect.bisect_left(ends, end)
        e = ends[j] if j < len(ends) else len(self.norm)
        return s, e

    def detect(self, name: str, own_domain: str, detectors=DETECTORS) -> list[Hit]:
        hits = self._det.get(name)
        if hits is None:
            hits = self._det[name] = detectors[name](self.norm, self.orig, own_domain)
        return hits


def _combine_unless(conds: list[tuple[Condition, re.Pattern]]) -> tuple[tuple[Condition, re.Pattern], ...]:
    """Any ``unless`` condition stops a rule, so the conditions that look at the same part of the
    text are searched as one expression (fewer searches per match)."""
    by_scope: dict[tuple[str, str], list[Condition]] = {}
    for cond, _ in conds:
        by_scope.setdefault((cond.scope, cond.author), []).append(cond)
    out = []
    for (scope, author), group in by_scope.items():
        if len(group) == 1:
            out.append((group[0], re.compile("|".join(f"(?:{p})" for p in group[0].patterns))))
            continue
        merged = Condition(id="+".join(c.id for c in group), description="", scope=scope,
                           patterns=tuple(p for c in group for p in c.patterns), line=0, author=author)
        out.append((merged, re.compile("|".join(f"(?:{p})" for p in merged.patterns))))
    return tuple(out)


_DEFAULT_MODEL = object()


def feature_text(feature: str) -> str:
    """A model feature as a moderator reads it."""
    if feature.startswith(("w:", "b:")):
        return feature[2:]
    if feature.startswith("x:"):
        return {"x:m": "svar til kommunen", "x:c": "svar til en innbygger"}.get(feature, "svarer på: " + feature[2:])
    if feature == "u:link":
        return "lenke"
    if feature.startswith("p:"):
        return feature[2:]
    return feature.replace(" ", "_")


class Judge:
    """Judge messages with one policy and its learned model; build it once and reuse it (everything
    is compiled and loaded here).

    ``model``: a ``TextModel``; by default the policy's (``[model] file``, or the shipped model),
    None for the rules alone."""

    def __init__(self, policy: Policy | None = None, own_domain: str = "ringebu.kommune.no",
                 model: "TextModel | None | object" = _DEFAULT_MODEL):
        self.policy = policy or load_policy()
        self.own_domain = own_domain
        ms = self.policy.model
        if model is _DEFAULT_MODEL:
            if ms["enabled"]:
                from .model import load_model
                model = load_model(ms["file"] or None)
            else:
                model = None
        self.model: TextModel | None = model  # type: ignore[assignment]
        self._ms = ms
        self._parent_cache: dict[tuple[str, str], bool] = {}
        lures = self.policy.lures
        classify = link_classifier(lures)
        self._detectors = {
            **DETECTORS,
            "lenke_mistenkelig": lambda n, o, d: find_suspicious_links(n, o, d, lures, classify),
            "lenke_lokketekst": lambda n, o, d: find_lure_links(n, o, d, lures, classify),
        }
        self.model_hash = self.model.sha256 if self.model is not None else ""
        conds = {cid: (c, re.compile("|".join(f"(?:{p})" for p in c.patterns)))
                 for cid, c in self.policy.conditions.items()}
        self._citizen: list[_Compiled] = []
        self._municipality: list[_Compiled] = []
        for r in self.policy.rules:
            comp = _Compiled(
                rule=r,
                has_patterns=bool(r.patterns),
                pos=0,
                unless=_combine_unless([conds[c] for c in r.unless]),
                requires=tuple(conds[c] for c in r.requires),
                ctx_rx=re.compile("|".join(f"(?:{p})" for p in r.context_patterns)) if r.context_patterns else None,
            )
            if r.applies_to in ("citizen", "all"):
                self._citizen.append(comp)
            if r.applies_to in ("municipality", "all"):
                # its own copy: the position in each author group's index differs
                self._municipality.append(dataclasses.replace(comp))
        # Rules that only give a signal or a mask (who is written about) matter only when
        # something is screened; they run last, and only then.
        def deferred(c: _Compiled) -> bool:
            r = c.rule
            return r.signal in ("third_party", "own_party") and not (
                r.evidence or r.category or r.actions or r.screen)
        self._citizen.sort(key=deferred)
        self._municipality.sort(key=deferred)
        self._first_deferred = {
            group_id: next((i for i, c in enumerate(group) if deferred(c)), len(group))
            for group_id, group in ((False, self._citizen), (True, self._municipality))
        }
        for group in (self._citizen, self._municipality):
            for i, comp in enumerate(group):
                comp.pos = i
        self._index = {
            False: RuleIndex([c.rule.patterns for c in self._citizen]),
            True: RuleIndex([c.rule.patterns for c in self._municipality]),
        }
        self._effects = {r.id: r.effect() for r in self.policy.rules}
        self._static = {
            id(group): (
                frozenset(c.pos for c in group
                          if c.pos in self._index[muni].always and c.rule.context_author is None),
                frozenset(c.pos for c in group if c.rule.context_author is not None),
                tuple((c.pos, c.rule.detector) for c in group
                      if c.rule.detector is not None and self._sensitive_kind(c.rule.detector) is None),
                # the sensitive vocabulary is found in one pass for all its kinds: one look at
                # that pass's kinds instead of one detector call per rule
                tuple((c.pos, kind) for c in group
                      if c.rule.detector is not None and (kind := self._sensitive_kind(c.rule.detector)) is not None),
            )
            for muni, group in ((False, self._citizen), (True, self._municipality))
        }
        roles = self.policy.with_role
        self._remove_cats = roles("remove")
        self._municipal_cats = roles("municipal_field")
        self._praise_cats = roles("praise")
        self._political_cats = roles("political")
        self._to_others_cats = roles("to_others")
        self._sensitive_cats = roles("sensitive")
        self._not_substantive = roles("chatter") | roles("to_others")
        self._outgoing_exposure_cats = roles("outgoing_exposure")
        self._outgoing_case_cats = roles("outgoing_case")
        self._exposure = next(iter(roles("exposure")), None)
        om = self.policy.own_matter
        self._own_matter = om
        self._own_rx = re.compile("|".join(f"(?:{p})" for p in om.own)) if om else None
        self._need_rx = re.compile("|".join(f"(?:{p})" for p in om.need)) if om and om.need else None
        self._journal_at = self.policy.thresholds["journal"]
        self._review_at = self.policy.thresholds["review"]
        self._confident_at = self.policy.thresholds["confident"]

    def _sensitive_kind(self, detector: str) -> str | None:
        """The kind of sensitive vocabulary a detector looks for, when it is the shipped one."""
        kind = detector[len("sensitiv_"):] if detector.startswith("sensitiv_") else None
        if kind in SENSITIVE and self._detectors.get(detector) is DETECTORS.get(detector):
            return kind
        return None

    # ----------------------------------------------------------------------------------------
    def judge(self, text: str, *, author_is_municipality: bool = False,
              context: Sequence[ContextItem] = (), own_domain: str | None = None) -> JudgmentResult:
        """Judge one message. ``context`` is the thread around it (parent, root, siblings)."""
        domain = own_domain or self.own_domain
        msg = _Message(text, context)
        rules = self._municipality if author_is_municipality else self._citizen
        fired = self._fire(msg, rules, self._index[bool(author_is_municipality)], domain,
                           self._first_deferred[bool(author_is_municipality)])
        if author_is_municipality:
            return self._outgoing(fired, msg)
        return self._incoming(fired, msg, domain)

    def judge_many(self, items: Sequence[tuple[str, bool, Sequence[ContextItem]]], *,
                   own_domain: str | None = None) -> list[JudgmentResult]:
        """Judge several messages, each (text, author_is_municipality, context): the same results
        as ``judge()`` on each in turn, with the model scoring the citizens' messages together
        (``TextModel.score_many``)."""
        domain = own_domain or self.own_domain
        msgs = [_Message(text, context) for text, _, context in items]
        scores: dict[int, Score] = {}
        if self.model is not None:
            citizens = [i for i, item in enumerate(items) if not item[1]]
            scored = self.model.score_many([(msgs[i].norm, self._model_context(msgs[i])) for i in citizens])
            scores = dict(zip(citizens, scored))
        out = []
        for i, (_, author_is_municipality, _) in enumerate(items):
            msg = msgs[i]
            rules = self._municipality if author_is_municipality else self._citizen
            fired = self._fire(msg, rules, self._index[bool(author_is_municipality)], domain,
                               self._first_deferred[bool(author_is_municipality)])
            out.append(self._outgoing(fired, msg) if author_is_municipality
                       else self._incoming(fired, msg, domain, scores.get(i)))
        return out

    # ----------------------------------------------------------------------------------------
    def _fire(self, msg: _Message, rules: list[_Compiled], index: RuleIndex, domain: str,
              first_deferred: int) -> list[_Fired]:
        fired: list[_Fired] = []
        norm = msg.norm
        open_alts = index.open_alternatives(norm, word_prefixes(norm))
        static, with_context, detector_rules, sensitive_rules = self._static[id(rules)]
        # only the rules that can fire: some of their words occur, a detector found something,
        # or the thread context decides
        candidates = set(open_alts)
        candidates |= static
        for pos, name in detector_rules:
            if pos >= first_deferred or msg.detect(name, domain, self._detectors):
                candidates.add(pos)
        if sensitive_rules:
            kinds = find_sensitive(norm)     # the kinds found, each with hits (never empty)
            for pos, kind in sensitive_rules:
                if pos >= first_deferred or kind in kinds:
                    candidates.add(pos)
        if msg.context:
            candidates |= with_context
        else:
            candidates -= with_context
        screened = False
        gated = index.gated
        for pos in sorted(candidates):
            c = rules[pos]
            r = c.rule
            if pos >= first_deferred and not screened:
                break
            hit = None
            if c.has_patterns:
                alts = open_alts.get(pos)
                g = gated[pos]
                rx = g.by_set.get(alts) if alts is not None else None
                if rx is None:
                    rx = g.regex_for(alts)
                if rx is not None:
                    if not c.unless and not c.requires:
                        m = rx.search(norm)       # the first match is the hit
                        if m is not None:
                            hit = _Fired(r, m.group(0))
                    else:
                        for m in rx.finditer(norm):
                            if self._conditions_ok(c, msg, m.start(), m.end()):
                                hit = _Fired(r, m.group(0))
                                break
            if hit is None and r.detector is not None:
                for h in msg.detect(r.detector, domain, self._detectors):
                    i = norm.find(h.matched) if h.matched else 0
                    i = max(i, 0)
                    if self._conditions_ok(c, msg, i, i + len(h.matched)):
                        hit = _Fired(r, h.matched, h.detail)
                        break
            # the thread context last: it may judge a citizen's parent message, which costs as
            # much as judging this one, so only when the message itself matched
            if hit is not None and r.context_author is not None and not self._context_ok(c, msg, domain):
                hit = None
            if hit is not None:
                fired.append(hit)
                screened = screened or r.screen
        return fired

    def _conditions_ok(self, c: _Compiled, msg: _Message, start: int, end: int) -> bool:
        if not c.unless and not c.requires:
            return True
        for cond, rx in c.unless:
            if self._cond_match(cond, rx, msg, start, end):
                return False
        for cond, rx in c.requires:
            if not self._cond_match(cond, rx, msg, start, end):
                return False
        return True

    @staticmethod
    def _cond_match(cond: Condition, rx: re.Pattern, msg: _Message, start: int, end: int) -> bool:
        scope = cond.scope
        if scope == "message":
            return rx.search(msg.norm) is not None
        if scope == "context":
            for item in msg.context:
                if cond.author == "municipality" and not item.author_is_municipality:
                    continue
                if cond.author == "citizen" and item.author_is_municipality:
                    continue
                if rx.search(_context_norm(item.text)):
                    return True
            return False
        s, e = msg.sentence(start, end)
        if scope == "before":
            return rx.search(msg.norm[s:start]) is not None
        if scope == "after":
            return rx.search(msg.norm[end:e]) is not None
        return rx.search(msg.norm[s:e]) is not None

    def _context_ok(self, c: _Compiled, msg: _Message, domain: str) -> bool:
        want = c.rule.context_author
        for item in msg.context:
            if want == "municipality" and not item.author_is_municipality:
                continue
            if want == "citizen" and item.author_is_municipality:
                continue
            if c.ctx_rx is not None and not c.ctx_rx.search(_context_norm(item.text)):
                continue
            if c.rule.context_case:
                if item.author_is_municipality:
                    continue
                if not self._parent_is_case(item.text, domain):
                    continue
            return True
        return False

    def _parent_is_case(self, text: str, domain: str) -> bool:
        """Whether a citizen's message in the thread is a case; remembered per text, because every
        reply under it asks again (a long thread would otherwise judge its comments over and over)."""
        key = (text, domain)
        hit = self._parent_cache.get(key)
        if hit is None:
            hit = self.judge(text, own_domain=domain).decision == Decision.journal
            if len(self._parent_cache) >= 4096:
                self._parent_cache.clear()
            self._parent_cache[key] = hit
        return hit

    # ----------------------------------------------------------------------------------------
    def _collect(self, fired: list[_Fired]):
        categories: list[str] = []
        actions: set[str] = set()
        signals: set[str] = set()
        screen_hjemmel: list[str] = []
        mask: list[str] = []
        screen_reasons: list[str] = []
        evidence = 0.0
        reasons = []
        for f in fired:
            r = f.rule
            evidence += r.evidence
            if r.category and r.category not in categories:
                categories.append(r.category)
            actions.update(r.actions)
            if r.signal:
                signals.add(r.signal)
            if r.screen:
                hj = r.hjemmel or self.policy.default_hjemmel
                if hj not in screen_hjemmel:
                    screen_hjemmel.append(hj)
                screen_reasons.append(f"{r.id}: {r.description}")
            if r.mask and f.matched and f.matched not in mask:
                mask.append(f.matched)
            matched = f.matched if not f.detail or f.detail in f.matched else f"{f.matched} ({f.detail})" if f.matched else f.detail
            # model_construct: the fields are built here and are valid; validation would cost
            # more than the judging itself
            reasons.append(_built(Reason, rule=r.id, description=r.description, matched=matched,
                                  effect=self._effects[r.id]))
        return evidence, categories, actions, signals, screen_hjemmel, mask, screen_reasons, reasons

    def _screening(self, hjemmel: list[str], mask: list[str], reasons: list[str]) -> ScreeningProposal:
        if not hjemmel:
            return _built(ScreeningProposal, screen=False, mask=[], hjemmel=None, reasons=[])
        return _built(ScreeningProposal, screen=True, mask=mask, hjemmel="; ".join(hjemmel), reasons=reasons)

    def _result(self, decision: Decision, confidence: float, categories: list[str], actions: set[str],
                screening: ScreeningProposal, reasons: list[Reason], language: str | None = None) -> JudgmentResult:
        return _built(
            JudgmentResult,
            decision=decision, confidence=round(max(0.0, min(1.0, confidence)), 2), categories=categories,
            actions=[a for a, value in _ACTION_ORDER if value in actions], screening=screening, reasons=reasons,
            policy_version=self.policy.version, policy_hash=self.policy.sha256, model_hash=self.model_hash,
            language=language,
        )

    def _outgoing(self, fired: list[_Fired], msg: _Message) -> JudgmentResult:
        """The municipality's own post or reply: archived, with the guideline's duties as categories.

        A reply that does casework in a citizen's matter (a category of role ``outgoing_case``:
        the application is granted, the bill credited, the concern passed to the child welfare
        service) is an outgoing case document, which must be journalført like the message it
        answers (arkivforskrifta § 9): it goes to review, where a person journals it with the case."""
        _, categories, _, _, hjemmel, mask, sreasons, reasons = self._collect(fired)
        # An own post exposing someone's confidential matters must come down like anyone else's.
        own_actions = {_REMOVE} if ((hjemmel and not self._outgoing_exposure_cats.isdisjoint(categories))
                                    or not self._remove_cats.isdisjoint(categories)) else set()
        decision, confidence = Decision.archive, 0.95
        if (not self._outgoing_case_cats.isdisjoint(categories)
                and any(not item.author_is_municipality for item in msg.context)):
            decision, confidence = Decision.review, 0.5
            reasons.append(_built(
                Reason, rule="utgaaende.saksdokument", matched="",
                description=("Kommunens svar behandler en innbyggers sak i tråden: et utgående "
                             "saksdokument, som journalføres sammen med saken"),
                effect="archive → review"))
        return self._result(decision, confidence, categories, own_actions,
                            self._screening(hjemmel, mask, sreasons), reasons)

    def _incoming(self, fired: list[_Fired], msg: _Message, domain: str,
                  score: "Score | None" = None) -> JudgmentResult:
        evidence, categories, actions, signals, hjemmel, mask, sreasons, reasons = self._collect(fired)
        journal_at, review_at = self._journal_at, self._review_at
        virus = not self._remove_cats.isdisjoint(categories)
        case = evidence >= review_at
        # The policy's fallback (``[own_matter]``): the writer's own matter in one of the
        # municipality's fields, said rather than asked ("avlastningen for gutten vår er kuttet"):
        # often a case in words no rule knows. Not confident enough to journal; a moderator looks.
        om = self._own_matter
        own_matter = (om is not None and not case and not virus
                      and not self._municipal_cats.isdisjoint(categories)
                      and (self._praise_cats.isdisjoint(categories)
                           or (self._need_rx is not None and self._need_rx.search(msg.norm) is not None))
                      and self._political_cats.isdisjoint(categories)
                      and self._to_others_cats.isdisjoint(categories)
                      and self._own_rx.search(msg.norm) is not None)
        if own_matter:
            case = True
            reasons.append(_built(Reason, rule=om.rule, matched="", description=om.description, effect=om.effect))
        exposure = (self._exposure is not None and not self._sensitive_cats.isdisjoint(categories)
                    and "third_party" in signals and "own_party" not in signals and evidence < review_at)
        if exposure:
            categories.append(self._exposure)
            actions.add(_REMOVE)
        if virus:
            actions.add(_REMOVE)
            # phishing often borrows the words of a claim ("refusjon", "erstatning"); only very
            # strong case evidence makes a moderator look before it is removed
            decision = Decision.review if evidence >= self._confident_at else Decision.exclude
            confidence = 0.9
        elif evidence >= journal_at:
            decision = Decision.journal
            confidence = 0.7 + 0.25 * min(1.0, (evidence - journal_at) / max(0.1, self._confident_at - journal_at))
        elif case:
            decision = Decision.review
            confidence = 0.5
        elif categories or signals & {"relevant", "question"}:
            substantive = [c for c in categories if c not in self._not_substantive]
            if substantive or "relevant" in signals:
                decision = Decision.archive
                confidence = 0.8 - 0.2 * min(1.0, evidence / max(0.1, review_at))
            else:
                decision = Decision.exclude
                confidence = 0.85
        else:
            decision = Decision.exclude
            confidence = 0.8
        language = None
        model_says: set[str] = set()
        # the guideline's "refer, do not answer" for what the rules know to be political; a
        # political side the model sees does not take the reply away
        political = _REFER_POLITICAL in actions
        if self.model is not None:
            # a reply that joins a case through the thread (a rule with context) is the rules'
            # to judge: the model sees the thread only as a few words of its parent
            from_thread = any(f.rule.context_author is not None for f in fired)
            decision, confidence, case, spam, language, model_says = self._combine(
                msg, decision, confidence, case, virus, actions, hjemmel, sreasons, reasons, from_thread, score)
            virus = virus or spam
        if case:
            actions.add(_REFER_POST)
            # a case is handled at the post address, not here; a question in it the model
            # recognises still gets a reply (where to send it, what happens next)
            if _REPLY not in model_says:
                actions.discard(_REPLY)
            actions.discard(_THANK)
        if political:
            actions.discard(_REPLY)
        if virus:
            actions.discard(_REPLY)
            actions.discard(_THANK)
            actions.discard(_REFER_POST)
        if exposure:
            actions.discard(_THANK)
        return self._result(decision, confidence, categories, actions,
                            self._screening(hjemmel, mask, sreasons), reasons, language)

    # ----------------------------------------------------------------------------------------
    def _combine(self, msg: _Message, decision: Decision, confidence: float, case: bool, virus: bool,
                 actions: set[str], hjemmel: list[str], sreasons: list[str], reasons: list[Reason],
                 from_thread: bool = False, score: "Score | None" = None):
        """The rules' decision weighed against the model's (see docs/judge.md, "Rules and model").

        Agreement decides automatically; disagreement, or a model without enough data for the
        message's language, sends the message to review. The model adds screening and actions
        the rules missed, never takes away what a rule found."""
        ms = self._ms
        if score is None:
            score = self.model.score(msg.norm, self._model_context(msg))
        p = score.probs["journal"]
        rule_decision = decision
        note = ""
        spam = False
        # Unknown ground: most words unknown to the model, sent to the municipality, in a language
        # the model has little data for. The model's view counts for nothing there; a person
        # looks unless the rules found it to be spam.
        language = None
        unknown = False
        if (score.words >= 3 and score.known_words < ms["unknown_known_words"] and self._addressed(msg)):
            from .language import UNDETERMINED, detect_unfamiliar
            language = detect_unfamiliar(score.unknown_words(), msg.orig)
            seen = self.model.languages.get(language, 0) if language and language != UNDETERMINED else 0
            unknown = bool(language) and seen < ms["unknown_min_cases"]
            if unknown and not virus:
                if decision != Decision.review:
                    decision, confidence, case = Decision.review, 0.5, True
                reasons.append(_built(
                    Reason, rule="modell.ukjent_sprak", matched=language,
                    description=(f"Skrevet til kommunen på et språk modellen har lite data for "
                                 f"({seen} treningsmeldinger): en person vurderer"),
                    effect="til vurdering"))
                # what nobody here can read yet is not published openly until a person has read
                # it: the model's screening cannot speak for this language, so screening is
                # proposed, and the moderator who reads the message confirms or lifts it
                if ms["unknown_screen"] and not hjemmel:
                    hjemmel.append(self.policy.default_hjemmel)
                    sreasons.append("modell.ukjent_sprak: innholdet er ikke lest ennå; skjermes til en person har vurdert det")
        if not virus and not unknown:
            if decision == Decision.journal:
                if p < ms["doubt_below"] and not from_thread:
                    decision, confidence, note = Decision.review, 0.5, "reglene journalfører, modellen er uenig"
            elif decision == Decision.review:
                if p >= ms["confirm_at"]:
                    decision, confidence, note = Decision.journal, 0.7, "reglene er i tvil, modellen ser en sak"
                elif p < ms["dismiss_below"] and not from_thread:
                    decision, confidence, case = Decision.archive, 0.6, False
                    note = "reglene er i tvil, modellen ser ingen sak"
            elif p >= ms["case_review_at"]:
                decision, confidence, case = Decision.review, 0.5, True
                note = "reglene ser ingen sak, modellen gjør det"
            if score.probs["remove"] >= ms["remove_at"] and _REMOVE not in actions:
                actions.add(_REMOVE)
                reasons.append(self._model_reason(score, "remove", "tiltak remove"))
                if decision in (Decision.archive, Decision.exclude):
                    decision, confidence, case, spam = Decision.exclude, 0.7, False, True
                elif decision == Decision.journal:
                    decision, confidence = Decision.review, 0.5
        model_says = set()
        if not unknown:
            if not hjemmel and score.probs["screen"] >= ms["screen_at"]:
                hjemmel.append(self.policy.default_hjemmel)
                reason = self._model_reason(score, "screen", "skjerming")
                reasons.append(reason)
                sreasons.append(f"{reason.rule}: {reason.description}")
            for label in (_REPLY, _THANK, _REFER_POLITICAL):
                if score.probs[label] >= ms[f"{label}_at"]:
                    model_says.add(label)
                    if label not in actions:
                        actions.add(label)
                        reasons.append(self._model_reason(score, label, f"tiltak {label}"))
        # the strongest features where a moderator may look: a case, a review, or a changed decision
        explain = decision in (Decision.journal, Decision.review) or decision != rule_decision
        top = ", ".join(f"«{feature_text(f)}»" for f in score.top("journal", 3, positive=p >= 0.5)) if explain else ""
        reasons.append(_built(
            Reason, rule="modell.sak", matched="",
            description=(f"Modellen: sannsynlighet for sak {p:.2f}"
                         + (f"; sterkeste trekk {top}" if top else "") + (f" ({note})" if note else "")),
            effect=(f"{rule_decision.value} → {decision.value}" if decision != rule_decision else "")))
        return decision, confidence, case, spam, language, model_says

    def _model_reason(self, score: "Score", label: str, effect: str) -> Reason:
        # the strongest words where they decide something a moderator checks (screening, removal)
        top = ", ".join(f"«{feature_text(f)}»" for f in score.top(label, 3)) if label in ("screen", _REMOVE) else ""
        return _built(Reason, rule=f"modell.{label}", matched="",
                      description=f"Modellen: sannsynlighet {score.probs[label]:.2f}" + (f"; sterkeste trekk {top}" if top else ""),
                      effect=effect)

    @staticmethod
    def _model_context(msg: _Message) -> list[tuple[str, bool]]:
        """The thread context as the model reads it."""
        return [(_context_norm(i.text), i.author_is_municipality) for i in msg.context]

    @staticmethod
    def _addressed(msg: _Message) -> bool:
        """Sent to the municipality: a message that answers nobody (a direct message or a comment
        on its post) or answers the municipality."""
        return not msg.context or msg.context[0].author_is_municipality
