"""The judge's learned text model: data, not code.

A model file is plain JSON: the feature scheme's version, a sorted vocabulary of features, one
weight array and bias per label (journal, screen and each action), the number of training cases
per language, the names and SHA-256 of the labelled files it was trained from, and the training
settings. Its SHA-256 (of the file bytes) is recorded on every judgment beside the policy hash.
It is read with msgspec, and by ``json.loads`` wherever msgspec refuses it (``read_json``): the
values ``json.loads`` gives, floats bit for bit.
Nothing is unpickled or executed: inference is a dictionary lookup per feature and one small
numpy product.

Invariants:
- ``features()`` is the one definition of the features, used by training and by inference, so a
  model scores at run time exactly what it was trained on.
- A feature is present or absent (binary); the present vocabulary features of a message are scaled
  to unit length; a label's score is the bias plus the sum of their weights.
- Training (``training.py``) is deterministic: the same labelled files give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Sequence

import msgspec
import numpy as np

from ringebu_journal.errors import Hint, InputError

DEFAULT_MODEL = "default_model.json"
FEATURE_SCHEME = "ringebu-features-1"
#: The labels a model scores, in the order of its weight rows.
LABELS = ("journal", "screen", "reply", "thank", "refer_post", "refer_political", "remove")

_URL = re.compile(r"(?:https?://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:[a-z]{2,6})/\S*")
_WORD = re.compile(r"[^\W\d_]+|\d+")
_CHAR_N = (3, 4)
# Character n-grams are looked up at run time by a 64-bit polynomial hash of their code points
# (h = h·M + c for each character, then h·M + n, modulo 2**64), computed for all positions at
# once with numpy. The model file stores the n-grams as text; their hashes are computed on
# loading, so the hash is an implementation detail of inference, never part of the file.
_M = 0x100000001B3
_MASK = (1 << 64) - 1


def gram_hash(gram: str) -> int:
    """The run-time hash of one character n-gram (the same value numpy computes in bulk)."""
    h = 0
    for ch in gram:
        h = (h * _M + ord(ch)) & _MASK
    return (h * _M + len(gram)) & _MASK


def _gram_hashes(joined: str) -> np.ndarray:
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes)
    m = np.uint64(_M)
    parts = []
    h = codes                      # h[i]: hash of the k characters from i (before the length term)
    for k in range(1, max(_CHAR_N) + 1):
        if n < k:
            break
        if k > 1:
            h = h[:n - k + 1] * m + codes[k - 1:]
        if k in _CHAR_N:
            parts.append(h * m + np.uint64(k))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def _word_form(w: str) -> str:
    return f"#{min(len(w), 6)}" if w.isdigit() else w


@lru_cache(maxsize=4096)
def _context_words(text: str) -> tuple[str, ...]:
    """The ``x:`` features of a context text (the same post or parent stands beside every reply
    under it, so they are kept per text)."""
    return tuple(["x:" + _word_form(w) for w in _WORD.findall(text)])


def features(norm: str, context: Sequence[tuple[str, bool]] = ()) -> set[str]:
    """The features of a normalised message (see ``engine.normalise``) and its thread context.

    - ``w:`` words (numbers by their length), ``b:`` word pairs;
    - character 3- and 4-grams of the words joined by single spaces (no prefix: they hold
      only letters, digits and spaces, so they never collide with the prefixed kinds);
    - ``u:link`` for a link, ``p:?`` and ``p:!`` for question and exclamation marks;
    - ``x:m`` / ``x:c`` for a context item by the municipality / a citizen, and ``x:`` + word for
      the words of the first context item (what the message answers).
    """
    return _features(norm, context)[0]


def _features(norm: str, context: Sequence[tuple[str, bool]] = ()) -> tuple[set[str], list[str]]:
    """The features and the message's alphabetic words."""
    feats, alpha, joined = _word_features(norm, context)
    n = len(joined)
    for k in _CHAR_N:
        feats.update([joined[i:i + k] for i in range(n - k + 1)])
    return feats, alpha


def _word_features(norm: str, context: Sequence[tuple[str, bool]] = ()) -> tuple[set[str], list[str], str]:
    """Every feature but the character n-grams, the alphabetic words, and the text the n-grams
    are taken from."""
    feats: set[str] = set()
    if "http" in norm or "www." in norm or "/" in norm:
        stripped = _URL.sub(" ", norm)
        if stripped != norm:
            feats.add("u:link")
            norm = stripped
    raw = _WORD.findall(norm)
    alpha = [w for w in raw if not w.isdigit()]
    words = raw if len(alpha) == len(raw) else [_word_form(w) for w in raw]
    feats.update(["w:" + w for w in words])
    feats.update(["b:" + a + " " + b for a, b in zip(words, words[1:])])
    joined = " " + " ".join(alpha) + " "
    if "?" in norm:
        feats.add("p:?")
    if "!" in norm:
        feats.add("p:!")
    if context:
        first_text, first_muni = context[0]
        feats.add("x:m" if first_muni else "x:c")
        feats.update(_context_words(first_text))
        if any(muni for _, muni in context[1:]):
            feats.add("x:m")
    return feats, alpha, joined


class Score:
    """The model's view of one message: a probability per label, and its strongest features on demand."""

    __slots__ = ("probs", "known_words", "words", "_rows", "_idx", "_ids", "_model", "_scale", "_alpha", "_padded")

    def __init__(self, probs: dict[str, float], known_words: float, words: int, rows=None,
                 idx: list[int] | None = None, model: "TextModel | None" = None, scale: float = 0.0,
                 alpha: Sequence[str] = (), ids: np.ndarray | None = None):
        self.probs = probs
        self.known_words = known_words     # share of the message's distinct words the model knows
        self.words = words
        self._rows = rows
        self._idx = idx or []
        self._ids = ids if ids is not None else np.asarray(self._idx, dtype=np.int64)   # the same, as an array
        self._model = model
        self._scale = scale
        self._alpha = alpha
        self._padded: list[str] | None = None

    def contributions(self, label: str, n: int = 8) -> list[tuple[str, float]]:
        """(feature, contribution to the label's score), strongest first."""
        model = self._model
        if self._rows is not None:
            col = self._rows[:, model.labels.index(label)]
        elif self._idx and model is not None:
            # the label's weights of the message's features, taken when asked (a batch scores its
            # messages without them; only the messages explained to a moderator need them): the
            # same numbers in the same order as the column of the message's weight rows
            col = model._label_weights[model.labels.index(label)][self._ids]
        else:
            return []
        strength = np.abs(col)
        if len(col) > n:
            part = np.argpartition(-strength, n - 1)[:n]
            order = part[np.argsort(-strength[part], kind="stable")]
        else:
            order = np.argsort(-strength, kind="stable")
        scale = self._scale
        vocab, idx = model.vocabulary, self._idx
        return [(vocab[idx[i]], v * scale) for i, v in zip(order.tolist(), col[order].tolist())]

    def unknown_words(self) -> list[str]:
        """The message's distinct words the model has never seen, in the order they first occur."""
        known = self._model._known_words if self._model is not None else frozenset()
        return [w for w in dict.fromkeys(self._alpha) if w not in known]

    def top(self, label: str, n: int = 3, positive: bool = True) -> list[str]:
        """The message's words (or word pairs, or context features) that pushed the label's score
        up (or down) most: the strongest features, character n-grams credited to the words they
        occur in."""
        padded = self._padded
        if padded is None:      # asked for up to three labels per message: the words padded once
            padded = self._padded = [f" {w} " for w in dict.fromkeys(self._alpha)]
        credit: dict[str, float] = {}
        for f, c in self.contributions(label, 16):
            if f.startswith(("w:", "b:")):
                keys = [f[2:]]
            elif ":" in f:
                keys = [f]
            else:
                keys = [w[1:-1] for w in padded if f in w]
            for key in keys:
                credit[key] = credit.get(key, 0.0) + c / len(keys)
        ranked = sorted(credit.items(), key=lambda kv: (-kv[1] if positive else kv[1], kv[0]))
        return [k for k, c in ranked if (c > 0) == positive][:n]


class TextModel:
    """A loaded model file; ``score()`` is the inference."""

    def __init__(self, data: dict, sha256: str, path: str):
        self.path = path
        self.sha256 = sha256
        self.scheme = data["scheme"]
        self.version = str(data.get("version", ""))
        self.labels = tuple(data["labels"])
        self.vocabulary: list[str] = data["vocabulary"]
        self.index = dict(zip(self.vocabulary, range(len(self.vocabulary))))
        self.weights = np.asarray([data["weights"][lab] for lab in self.labels], dtype=np.float64).T.copy()
        self.bias = np.asarray([data["bias"][lab] for lab in self.labels], dtype=np.float64)
        self._label_weights = np.ascontiguousarray(self.weights.T)     # one row per label
        self.languages: dict[str, int] = dict(data.get("languages", {}))
        self.trained_on: list[dict] = list(data.get("trained_on", []))
        self.settings: dict = dict(data.get("settings", {}))
        self.cases = int(data.get("cases", 0))
        named = [f for f in self.vocabulary if ":" in f]
        self._known_words = frozenset(f[2:] for f in named if f.startswith("w:"))
        self._vocabset = frozenset(named)
        by_len: dict[int, list[int]] = {k: [] for k in _CHAR_N}
        for i, f in enumerate(self.vocabulary):     # the n-grams by length, in vocabulary order
            if ":" not in f and len(f) in by_len:
                by_len[len(f)].append(i)
        hashes, ids = [], []
        for k in _CHAR_N:                 # all n-grams of one length hashed at once
            sel = by_len[k]
            if not sel:
                continue
            codes = np.frombuffer("".join([self.vocabulary[i] for i in sel]).encode("utf-32-le"),
                                  dtype=np.uint32).astype(np.uint64).reshape(-1, k)
            h = np.zeros(len(sel), dtype=np.uint64)
            for j in range(k):
                h = h * np.uint64(_M) + codes[:, j]
            hashes.append(h * np.uint64(_M) + np.uint64(k))
            ids.append(np.asarray(sel, dtype=np.int64))
        if hashes:
            h, i = np.concatenate(hashes), np.concatenate(ids)
            order = np.argsort(h, kind="stable")
            self._gram_hashes, self._gram_ids = h[order], i[order]
        else:
            self._gram_hashes, self._gram_ids = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)

    def ids(self, word_feats: set[str], joined: str) -> np.ndarray:
        """The sorted vocabulary ids of a message's features (word features by name, character
        n-grams by hash)."""
        table = self._gram_hashes
        h = _gram_hashes(joined)
        if len(table) and len(h):
            pos = np.searchsorted(table, h)
            np.minimum(pos, len(table) - 1, out=pos)
            gram_ids = self._gram_ids[pos[table[pos] == h]]
        else:
            gram_ids = np.zeros(0, dtype=np.int64)
        named = [self.index[f] for f in word_feats & self._vocabset]
        if named:
            gram_ids = np.concatenate((gram_ids, np.asarray(named, dtype=np.int64)))
        if len(gram_ids) < 2:
            return gram_ids
        gram_ids.sort()
        keep = np.empty(len(gram_ids), dtype=bool)
        keep[0] = True
        np.not_equal(gram_ids[1:], gram_ids[:-1], out=keep[1:])
        return gram_ids[keep]

    def score(self, norm: str, context: Sequence[tuple[str, bool]] = ()) -> Score:
        feats, words, joined = _word_features(norm, context)
        return self._score(self.ids(feats, joined), words)

    def score_many(self, items: Sequence[tuple[str, Sequence[tuple[str, bool]]]]) -> list[Score]:
        """``score()`` of each (normalised text, context), the n-gram hashing and the vocabulary
        lookup done once for all of them (a few numpy calls per batch instead of some twenty per
        message). Each message gets exactly the ids ``ids()`` gives it, sorted and distinct, and
        its scores are summed from them as ``score()`` sums them, so the results are the same
        floating-point numbers."""
        if len(items) < 2:
            return [self.score(n, c) for n, c in items]
        prepared = [_word_features(n, c) for n, c in items]
        m = len(prepared)
        lengths = np.fromiter((len(p[2]) for p in prepared), dtype=np.int64, count=m)
        ends = np.cumsum(lengths)
        # the message each character of the joined texts belongs to: an n-gram counts only
        # when it lies within one message's text
        owner = np.repeat(np.arange(m, dtype=np.int64), lengths)
        codes = np.frombuffer("".join(p[2] for p in prepared).encode("utf-32-le"),
                              dtype=np.uint32).astype(np.uint64)
        n = len(codes)
        mult = np.uint64(_M)
        found_ids, found_msgs = [], []
        table = self._gram_hashes
        h = codes
        for k in range(1, max(_CHAR_N) + 1):
            if n < k:
                break
            if k > 1:
                h = h[:n - k + 1] * mult + codes[k - 1:]
            if k not in _CHAR_N or not len(table):
                continue
            gram = h * mult + np.uint64(k)
            who = owner[:n - k + 1]
            inside = np.arange(n - k + 1, dtype=np.int64) + k <= ends[who]
            gram, who = gram[inside], who[inside]
            pos = np.searchsorted(table, gram)
            np.minimum(pos, len(table) - 1, out=pos)
            hit = table[pos] == gram
            found_ids.append(self._gram_ids[pos[hit]])
            found_msgs.append(who[hit])
        named_ids: list[int] = []
        named_msgs: list[int] = []
        index, vocabset = self.index, self._vocabset
        for i, (feats, _, _) in enumerate(prepared):
            named = [index[f] for f in feats & vocabset]
            named_ids.extend(named)
            named_msgs.extend([i] * len(named))
        found_ids.append(np.asarray(named_ids, dtype=np.int64))
        found_msgs.append(np.asarray(named_msgs, dtype=np.int64))
        size = len(self.vocabulary)
        keys = np.concatenate(found_msgs) * size + np.concatenate(found_ids)
        keys.sort()
        if len(keys) > 1:
            keep = np.empty(len(keys), dtype=bool)
            keep[0] = True
            np.not_equal(keys[1:], keys[:-1], out=keep[1:])
            keys = keys[keep]
        msg_of = keys // size
        id_of = keys - msg_of * size
        bounds = np.searchsorted(msg_of, np.arange(m + 1, dtype=np.int64)).tolist()
        # Each label's sums for all messages at once: bincount adds a message's weights one after
        # the other in the order of its ids (ascending, as in ``_score``), starting from 0.0, which
        # is what ``np.add.reduce`` over the message's rows does along the first axis (a
        # sequential sum per column, not numpy's pairwise one); 0.0 + x is x, so the sums are the
        # same floating-point numbers.
        sums = np.empty((m, len(self.labels)), dtype=np.float64)
        for j in range(len(self.labels)):
            sums[:, j] = np.bincount(msg_of, weights=self._label_weights[j][id_of], minlength=m)
        out = []
        for i in range(m):
            lo, hi = bounds[i], bounds[i + 1]
            if hi > lo:
                scale = 1.0 / math.sqrt(hi - lo)
                raw = (sums[i] * scale + self.bias).tolist()
            else:
                scale, raw = 0.0, self.bias.tolist()
            ids = id_of[lo:hi]
            out.append(self._scored(raw, ids.tolist(), None, scale, prepared[i][1], ids))
        return out

    def _score(self, ids: np.ndarray, words: list[str]) -> Score:
        idx = ids.tolist()
        if idx:
            rows = self.weights[ids]
            scale = 1.0 / math.sqrt(len(idx))
            # np.add.reduce is what rows.sum(axis=0) calls, without its Python wrapper
            raw = (np.add.reduce(rows, axis=0) * scale + self.bias).tolist()
        else:
            rows, scale = None, 0.0
            raw = self.bias.tolist()
        return self._scored(raw, idx, rows, scale, words, ids)

    def _scored(self, raw: list[float], idx: list[int], rows, scale: float, words: list[str],
                ids: np.ndarray | None = None) -> Score:
        """The Score of a message from its raw label scores."""
        distinct_words = set(words)
        known = len(distinct_words & self._known_words)
        distinct = len(distinct_words)
        exp = math.exp
        probs = {lab: 1.0 / (1.0 + exp(-v)) if v > -500 else 0.0 for lab, v in zip(self.labels, raw)}
        return Score(probs, (known / distinct) if distinct else 1.0, distinct, rows, idx, self, scale, words, ids)


def model_bytes(path: str | Path | None = None) -> tuple[str, bytes]:
    """The display path and bytes of a model file; the shipped default when path is None."""
    if path is None:
        ref = resources.files("ringebu_journal.judge").joinpath(DEFAULT_MODEL)
        return f"<package>/ringebu_journal/judge/{DEFAULT_MODEL}", ref.read_bytes()
    p = Path(path)
    try:
        return str(p), p.read_bytes()
    except FileNotFoundError:
        raise InputError(str(p), None, "model file not found",
                         Hint("give the path of a model JSON file made by {step}", "model.train")) from None
    except OSError as e:
        raise InputError(str(p), None, f"cannot read model file: {e.strerror}") from None


def load_model(path: str | Path | None = None) -> TextModel:
    """Load and check a model file (the shipped default when ``path`` is None)."""
    where, data = model_bytes(path)
    return parse_model(data, where)


def read_json(data: bytes):
    """The model file's JSON, exactly as ``json.loads`` reads it.

    msgspec parses the 5 MB file in about a third of the time; it reads strict JSON to the same
    values (its floats are correctly rounded, as Python's are). Whatever it refuses (NaN and
    Infinity, numbers that overflow to infinity, lone surrogates, bad UTF-8, broken syntax) is
    read again by ``json.loads``, which then gives its own value or its own error, so a file
    reads as it always did (``tests/judge/test_model.py``)."""
    try:
        return msgspec.json.decode(data)
    except msgspec.MsgspecError:
        return json.loads(data.decode("utf-8"))


def parse_model(data: bytes, where: str = "<model>") -> TextModel:
    try:
        obj = read_json(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(where, None, f"not a model file: {e}", Hint("train one with {step}", "model.train")) from None
    if not isinstance(obj, dict) or obj.get("scheme") != FEATURE_SCHEME:
        raise InputError(where, None, f"unknown model scheme {obj.get('scheme') if isinstance(obj, dict) else None!r}",
                         f"this program reads {FEATURE_SCHEME}; train the model again")
    try:
        vocab = obj["vocabulary"]
        labels = obj["labels"]
        if not isinstance(vocab, list) or not all(isinstance(v, str) for v in vocab):
            raise ValueError("vocabulary must be a list of strings")
        if list(labels) != list(LABELS):
            raise ValueError(f"labels must be {', '.join(LABELS)}")
        for lab in labels:
            w = obj["weights"][lab]
            if len(w) != len(vocab):
                raise ValueError(f"weights of {lab} do not match the vocabulary")
            float(obj["bias"][lab])
        model = TextModel(obj, hashlib.sha256(data).hexdigest(), where)
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(where, None, f"damaged model file: {e}", "train the model again") from None
    return model
