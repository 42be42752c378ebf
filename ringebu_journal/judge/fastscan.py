"""A cheap first pass that tells which rules can possibly match a message.

Running every rule's regular expression over every message is the judge's main cost. Almost
every pattern starts at a word boundary with a few known letters (``\\bsøk(?:er|jer)…`` starts
with "søk"). At policy load each pattern is analysed once for the literal text its matches must
begin with; per message the words are split once, and a rule whose possible beginnings occur in
none of the message's words is skipped without running its expression. Patterns whose
beginning cannot be known are always run, so the first pass never hides a match.

Each distinct alternative is parsed once per process (``analyse``): the analysis is a pure
function of the pattern text, kept per text, so what the index opens does not depend on what was
built before it.
"""

from __future__ import annotations

import re

try:  # Python 3.11+
    import re._constants as _c
    import re._parser as _p
except ImportError:  # pragma: no cover - older interpreters
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

PREFIX = 4          # letters of a word compared with a pattern's beginning
_MAX_SET = 12       # a character class larger than this ends the known beginning
_MAX_PREFIXES = 128  # more alternatives than this: give up and always run the pattern
_WORD = re.compile(r"\w+")


class _Unknown(Exception):
    pass


def _expand(items: list, prefixes: set[str]) -> set[str]:
    """Extend every prefix with what the item sequence must match next (up to PREFIX chars)."""
    done = {p for p in prefixes if len(p) >= PREFIX}
    todo = prefixes - done
    if not todo:
        return prefixes
    for idx, (op, av) in enumerate(items):
        rest = items[idx + 1:]
        if op in (_c.ASSERT, _c.ASSERT_NOT):
            continue  # look-arounds consume nothing: the beginning is decided by what follows
        if op is _c.LITERAL:
            todo = {p + chr(av) for p in todo}
        elif op is _c.IN:
            chars = []
            for sub_op, sub_av in av:
                if sub_op is _c.CATEGORY and sub_av is _c.CATEGORY_DIGIT:
                    chars.extend("0123456789")
                elif sub_op is _c.LITERAL:
                    chars.append(chr(sub_av))
                else:
                    return done | todo
            if len(chars) > _MAX_SET:
                return done | todo
            todo = {p + ch for p in todo for ch in chars}
        elif op is _c.BRANCH:
            out: set[str] = set()
            for alt in av[1]:
                out |= _expand(list(alt) + rest, set(todo))
            return done | out
        elif op is _c.SUBPATTERN:
            return done | _expand(list(av[-1]) + rest, todo)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] >= 1:
            return done | _expand(list(av[2]), todo)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            # optional (``(?:på)?klag``): a match either skips it and begins with what follows,
            # or begins with it: once and then what follows (``?``), or with what one
            # repetition begins with (``*``, ``{0,n}``, as above)
            taken = list(av[2]) + rest if av[1] == 1 else list(av[2])
            return done | _expand(list(rest), set(todo)) | _expand(taken, set(todo))
        else:
            return done | todo
        if len(todo) > _MAX_PREFIXES:
            raise _Unknown
        finished = {p for p in todo if len(p) >= PREFIX}
        done |= finished
        todo -= finished
        if not todo:
            return done
    return done | todo


def _parse(pattern: str):
    try:
        return _p.parse(pattern)
    except re.error:
        return None


def beginnings(pattern: str, parsed=None) -> tuple[frozenset[str], frozenset[str]] | None:
    """What every match of ``pattern`` must begin with: (beginnings of a word, substrings).

    None when that cannot be known (the pattern must then always be run). ``parsed``: the
    pattern already parsed (``_parse``), so that one parse serves ``required_texts`` too."""
    if parsed is None:
        parsed = _parse(pattern)
    if parsed is None:
        return None
    parsed = list(parsed)
    words: set[str] = set()
    subs: set[str] = set()
    try:
        if not _collect(parsed, False, words, subs):
            return None
    except _Unknown:
        return None
    return frozenset(words), frozenset(subs)


def _collect(items: list, at_word: bool, words: set[str], subs: set[str]) -> bool:
    while items and (items[0][0] is _c.AT and items[0][1] is _c.AT_BOUNDARY
                     or items[0][0] in (_c.ASSERT, _c.ASSERT_NOT)):
        at_word = at_word or items[0][0] is _c.AT
        items = items[1:]
    if len(items) == 1 and items[0][0] is _c.SUBPATTERN:
        return _collect(list(items[0][1][-1]), at_word, words, subs)
    if len(items) == 1 and items[0][0] is _c.BRANCH:
        return all(_collect(list(alt), at_word, words, subs) for alt in items[0][1][1])
    found = _expand(items, {""})
    if not found or "" in found:
        return False
    if at_word and all(p[0].isalnum() or p[0] == "_" for p in found):
        for p in found:
            w = _WORD.match(p).group(0)
            # a word that ends before PREFIX letters must be that whole word: "er det" is the
            # word "er", not every word that begins with "er"
            words.add(w + " " if len(w) < len(p) and len(w) < PREFIX else w)
    else:
        subs.update(found)
    return True


def _needs(items: list) -> list[frozenset[str]]:
    """Sets of literal texts, each set one element of the sequence ``items`` must match one of:
    one set per literal run, required group, alternation or required repetition."""
    out: list[frozenset[str]] = []
    run = ""
    for op, av in items:
        if op is _c.LITERAL:
            run += chr(av)
            continue
        if run:
            out.append(frozenset((run,)))
            run = ""
        if op is _c.SUBPATTERN:
            if av[1] or av[2]:          # local flags (``(?i:…)``) change what a literal matches
                continue
            out.extend(_needs(list(av[-1])))
        elif op is _c.BRANCH:
            union: set[str] = set()
            for alt in av[1]:
                best = _best(_needs(list(alt)))
                if best is None:
                    break
                union |= best
            else:
                out.append(frozenset(union))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] >= 1:
            out.extend(_needs(list(av[2])))
    if run:
        out.append(frozenset((run,)))
    return out


def _best(sets: list[frozenset[str]]) -> frozenset[str] | None:
    """The most selective set: the longest shortest text, then the fewest texts."""
    sets = [s for s in sets if s and "" not in s]
    if not sets:
        return None
    return max(sets, key=lambda s: (min(map(len, s)), -len(s)))


NEED_MIN = 3     # a required text shorter than this is in most messages: not worth a check


def required_texts(pattern: str, parsed=None) -> frozenset[str] | None:
    """Texts one of which every match of ``pattern`` contains (so a text without any of them
    cannot match); None when no such set of texts of at least NEED_MIN characters is known.

    Read from the parsed expression: a run of literal characters, or an alternation whose
    every branch requires one of its texts, or a group or repetition (at least once) that
    requires one; a later one rather than the first, which the word index already checks.
    Optional parts, character classes, look-arounds and back-references require
    nothing; an expression with flags (case-insensitive …) is not read at all."""
    if parsed is None:
        parsed = _parse(pattern)
    if parsed is None or parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    sets = [s for s in _needs(list(parsed)) if s and min(map(len, s)) >= NEED_MIN]
    if not sets:
        return None
    # the word index already asks for the first words' beginnings (PREFIX letters): a later
    # required text tells more, the first one only when it is longer than that
    later = _best(sets[1:])
    if later is not None:
        return later
    return sets[0] if min(map(len, sets[0])) > PREFIX else None


#: Each alternative's analysis and each pattern's distribution, by text. Both are pure functions
#: of the text (and of the interpreter's regular-expression parser), so one parse serves the two
#: author groups' indexes, which share most rules, and every judge built in the process; the
#: parse itself is what building the index costs. Only texts that parse are kept. Bounded:
#: cleared when full.
_KEPT_MAX = 50_000
_analysed: dict[str, tuple[tuple[frozenset[str], frozenset[str]] | None, tuple[str, ...] | None]] = {}
_distributed: dict[str, tuple[str, ...]] = {}


def analyse(alt: str, parsed=None) -> tuple[tuple[frozenset[str], frozenset[str]] | None, tuple[str, ...] | None]:
    """(``beginnings(alt)``, the sorted ``required_texts(alt)`` where the index checks them, else
    None) of one alternative, from one parse, kept per text. ``parsed``: the alternative already
    parsed (``distribute`` has it).

    Required texts are worth a check only where a short, common word opens the alternative ("i",
    "det", "har "): a long beginning ("herved", "rusm") is rare, and then mostly followed by what
    it requires."""
    got = _analysed.get(alt)
    if got is not None:
        return got
    if parsed is None:
        parsed = _parse(alt)
        if parsed is None:      # not kept: only texts that parse are (``distribute`` relies on it)
            return None, None
    b = beginnings(alt, parsed)
    texts = None
    if b is not None and any(len(w.rstrip()) < PREFIX for w in b[0]):
        req = required_texts(alt, parsed)
        if req is not None:
            texts = tuple(sorted(req))
    if len(_analysed) >= _KEPT_MAX:
        _analysed.clear()
    got = _analysed[alt] = (b, texts)
    return got


class Gate:
    """Decides cheaply whether a rule's patterns can match; built once per rule."""

    __slots__ = ("word_prefixes", "substrings", "always")

    def __init__(self, patterns: tuple[str, ...]):
        self.word_prefixes: set[str] = set()
        self.substrings: set[str] = set()
        self.always = not patterns
        for p in patterns:
            b = beginnings(p)
            if b is None:
                self.always = True
                return
            self.word_prefixes.update(b[0])
            self.substrings.update(b[1])

    def open(self, text: str, prefixes: set[str]) -> bool:
        if self.always:
            return True
        if not self.word_prefixes.isdisjoint(prefixes):
            return True
        return any(s in text for s in self.substrings)


# The last answer as one immutable pair, replaced in one assignment: a thread never sees the
# text of one message with the words of another.
_last: tuple[str | None, set[str]] = (None, set())


# Each word's beginnings, kept per word (words repeat from message to message); bounded.
_word_cuts: dict[str, tuple[str, ...]] = {}


def _cuts(w: str) -> tuple[str, ...]:
    """A word's beginnings of 1 to PREFIX letters, and the word with a space after it when it is
    shorter than PREFIX (a pattern that wants that whole word)."""
    cuts = tuple(w[:n] for n in range(1, PREFIX + 1))
    return cuts + (w + " ",) if len(w) < PREFIX else cuts


def word_prefixes(text: str) -> set[str]:
    """Every beginning (1 to PREFIX letters) of every word of the text.

    The last answer is kept: the engine and the detectors ask for the same message in turn."""
    global _last
    cached = _last
    if cached[0] == text:
        return cached[1]
    out: set[str] = set()
    add, known = out.update, _word_cuts
    for w in set(_WORD.findall(text)):
        cuts = known.get(w)
        if cuts is None:
            if len(known) >= 50_000:
                known.clear()
            cuts = known[w] = _cuts(w)
        add(cuts)
    _last = (text, out)
    return out


def split_top(pattern: str) -> list[str]:
    """Split a regular expression on its top-level ``|``."""
    parts, depth, cls, i, start = [], 0, False, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if cls:
            if ch == "]":
                cls = False
        elif ch == "[":
            cls = True
            if pattern[i + 1:i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


class GatedRegex:
    """Several patterns as one search, running only the alternatives whose beginnings occur.

    Every top-level alternative is indexed by the word beginnings (or substrings) its matches
    must start with. Per message one set intersection finds the alternatives that can match;
    they are joined into one expression, compiled once per combination and kept, so a long
    list of words costs little when only one of them can match.
    """

    __slots__ = ("alts", "_fast", "index", "keys", "substrings", "always_idx", "required", "_cache", "by_set")

    def __init__(self, patterns: tuple[str, ...] | list[str]):
        self.alts: list[str] = [d for p in patterns for a in split_top(p) for d in distribute(a)]
        # each alternative's literal-first form, worked out when an expression first needs it
        # (building the judge analysed and compiled every one; a run uses a part of them)
        self._fast: list[str | None] = [None] * len(self.alts)
        self.index: dict[str, list[int]] = {}
        self.substrings: list[tuple[str, int]] = []
        self.always_idx: list[int] = []
        #: indexed alternative → the texts one of which it requires (``required_texts``)
        self.required: dict[int, tuple[str, ...]] = {}
        for i, alt in enumerate(self.alts):
            b, texts = analyse(alt)
            if b is None:
                self.always_idx.append(i)
                continue
            if texts is not None:
                self.required[i] = texts
            for w in b[0]:
                self.index.setdefault(w, []).append(i)
            self.substrings.extend((sub, i) for sub in b[1])
        self.keys = frozenset(self.index)
        self._cache: dict[tuple[int, ...], re.Pattern | None] = {}
        #: the expression per set of open alternatives, as ``regex_for`` gives it (the engine's
        #: loop reads it directly and asks ``regex_for`` only when a set is new)
        self.by_set: dict[frozenset[int], re.Pattern] = {}

    def fast_of(self, i: int) -> str:
        """The literal-first form of alternative ``i`` (``fast_form``)."""
        f = self._fast[i]
        if f is None:
            f = self._fast[i] = fast_form(self.alts[i])
        return f

    @property
    def fast(self) -> list[str]:
        """Every alternative's literal-first form."""
        return [self.fast_of(i) for i in range(len(self.alts))]

    def compiled(self, text: str, prefixes: set[str]) -> re.Pattern | None:
        hit = self.keys.intersection(prefixes)
        if not hit and not self.always_idx and not self.substrings:
            return None
        idx = set(self.always_idx)
        for k in hit:
            idx.update(self.index[k])
        for sub, i in self.substrings:
            if sub in text:
                idx.add(i)
        if not idx:
            return None
        key = tuple(sorted(idx))
        rx = self._cache.get(key, False)
        if rx is False:
            rx = re.compile("|".join(f"(?:{self.fast_of(i)})" for i in key))
            if len(self._cache) < 4096:
                self._cache[key] = rx
        return rx

    def finditer(self, text: str, prefixes: set[str]):
        rx = self.compiled(text, prefixes)
        return rx.finditer(text) if rx is not None else iter(())

    def regex_for(self, open_alts: frozenset[int] | None) -> re.Pattern | None:
        """The expression of the given open alternatives plus those that are always run."""
        rx = self.by_set.get(open_alts)
        if rx is not None:
            return rx
        if not open_alts:
            if not self.always_idx:
                return None
            key = tuple(self.always_idx)
        else:
            key = tuple(sorted(open_alts.union(self.always_idx))) if self.always_idx else tuple(sorted(open_alts))
        rx = self._cache.get(key, False)
        if rx is False:
            rx = re.compile("|".join(f"(?:{self.fast_of(i)})" for i in key))
            if len(self._cache) < 4096:
                self._cache[key] = rx
        if open_alts is not None and len(self.by_set) < 4096:
            self.by_set[open_alts] = rx
        return rx


class RuleIndex:
    """One index over the patterns of many rules: per message one set intersection tells which
    alternatives of which rules can match, and only those are run."""

    def __init__(self, rule_patterns: list[tuple[str, ...]]):
        self.gated = [GatedRegex(p) for p in rule_patterns]
        self.index: dict[str, list[tuple[int, int]]] = {}
        self.substrings: list[tuple[str, int, int]] = []
        for r, g in enumerate(self.gated):
            for key, alts in g.index.items():
                self.index.setdefault(key, []).extend((r, i) for i in alts)
            self.substrings.extend((sub, r, i) for sub, i in g.substrings)
        self.keys = frozenset(self.index)
        # per word beginning: (rule, its alternatives) grouped once, so a message costs one
        # union per rule and key instead of one insertion per alternative
        self.grouped: dict[str, tuple[tuple[int, frozenset[int]], ...]] = {}
        for key, pairs in self.index.items():
            by_rule: dict[int, set[int]] = {}
            for r, i in pairs:
                by_rule.setdefault(r, set()).add(i)
            self.grouped[key] = tuple((r, frozenset(a)) for r, a in by_rule.items())
        #: rules with an alternative whose beginning is unknown: they always run
        self.always = frozenset(r for r, g in enumerate(self.gated) if g.always_idx)
        #: per rule, its indexed alternatives that need a text besides their beginning
        #: (``required_texts``): opened by their words, they stay closed without that text
        self.needs: dict[int, dict[int, tuple[str, ...]]] = {r: g.required for r, g in enumerate(self.gated)
                                                             if g.required}
        self.needy = frozenset(self.needs)

    def open_alternatives(self, text: str, prefixes: set[str]) -> dict[int, set[int]]:
        """Rule position → the alternatives that can match (rules with none are left out,
        except that alternatives with an unknown beginning are added by ``regex_for``)."""
        found: dict[int, frozenset[int]] = {}
        grouped = self.grouped
        for key in self.keys.intersection(prefixes):
            for r, alts in grouped[key]:
                cur = found.get(r)
                found[r] = alts if cur is None else cur | alts
        for sub, r, i in self.substrings:
            if sub in text:
                cur = found.get(r)
                found[r] = frozenset((i,)) if cur is None else cur | {i}
        needs, needy = self.needs, self.needy
        for r in needy.intersection(found):
            need, alts = needs[r], found[r]
            closed = []
            for i in alts:
                texts = need.get(i)
                if texts is not None:
                    for t in texts:
                        if t in text:
                            break
                    else:
                        closed.append(i)
            if closed:
                alts = alts.difference(closed)
                if alts:
                    found[r] = alts
                else:
                    del found[r]
        return found

    def regex_for(self, r: int, open_alts: frozenset[int] | None) -> re.Pattern | None:
        return self.gated[r].regex_for(open_alts)


_SPECIAL = set("\\()[]{}|.*+?^$")


def _group_end(s: str, start: int) -> int:
    """Index of the ``)`` closing the group whose ``(`` is at or after ``start``; -1 if none.
    Escapes and character classes are skipped, so ``\\)`` and ``[)]`` do not close it."""
    depth, cls, i = 0, False, start
    while i < len(s):
        ch = s[i]
        if ch == "\\":
            i += 2
            continue
        if cls:
            if ch == "]":
                cls = False
        elif ch == "[":
            cls = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def distribute(alt: str) -> list[str]:
    """``\\b(?:a|b|c)REST`` → ``\\b(?:a)REST``, ``\\b(?:b)REST``, …: one alternative per word, so a
    message that has one of the words runs a small expression instead of the whole list.

    Kept per text (see ``analyse``)."""
    got = _distributed.get(alt)
    if got is None:
        got = tuple(_distribute(alt))
        if len(_distributed) >= _KEPT_MAX:
            _distributed.clear()
        _distributed[alt] = got
    return list(got)


def _distribute(alt: str) -> list[str]:
    if not alt.startswith("\\b(?:"):
        return [alt]
    i = _group_end(alt, 2)
    if i < 0:
        return [alt]
    inner, rest = alt[5:i], alt[i + 1:]
    if rest[:1] in ("*", "+", "?", "{"):
        return [alt]
    parts = split_top(inner)
    if len(parts) < 2:
        return [alt]
    out = [f"\\b(?:{p}){rest}" for p in parts]
    # each part is pieces of a valid pattern put together again; what can break is a reference
    # to a group left in another part, which the parser finds (a compile is not needed to see it)
    # The index analyses each part next: from this parse, not a second one (a part analysed
    # before parsed then; a word can stand in several lists, or twice in one).
    for o in out:
        if o in _analysed:
            continue
        tree = _parse(o)
        if tree is None:
            return [alt]
        analyse(o, tree)
    return out


def fast_form(alt: str) -> str:
    """``\\bword…`` → ``word(?<!\\wword)…``: the same matches, but the expression starts with a
    literal, which the regex engine finds with a fast scan instead of trying every position."""
    body = alt[2:] if alt.startswith("\\b") else None
    if body is None:
        return alt
    group = body.startswith("(?:")
    if group:
        inner = distribute("\\b" + body)
        content = _group_inner(body)
        after = body[3 + len(content) + 1:3 + len(content) + 2]
        if len(inner) != 1 or len(split_top(content)) != 1 or after in ("*", "+", "?", "{"):
            return alt  # a group of several words, or an optional one: no single word leads
    text = body[3:] if group else body
    n = 0
    while n < len(text) and text[n] not in _SPECIAL:
        n += 1
    if n < len(text) and text[n] in "*+?{":
        n -= 1
    lit = text[:n]
    if len(lit) < 2 or not (lit[0].isalnum() or lit[0] == "_"):
        return alt
    rest = text[n:]
    new = (f"{re.escape(lit)}(?<!\\w{re.escape(lit)})" + ("(?:" + rest if group else rest))
    try:
        re.compile(new)
    except re.error:
        return alt
    return new


def _group_inner(body: str) -> str:
    """The text inside the group ``(?:…)`` that ``body`` starts with."""
    i = _group_end(body, 0)
    return body[3:i] if i >= 0 else body[3:]
