"""Measure the judge on a labelled JSONL file (the format of the shared dev corpus).

Scoring follows the corpus README: a journal case decided ``journal`` or ``review`` is caught;
a non-journal case decided ``journal`` is a false positive; ``review`` on a case that is not
marked hard is review load. Channel consistency judges every text as if it came on every
platform and as comment and message; because platform and kind are never inputs this must be
100 %, and measuring it keeps it so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from ringebu_journal.errors import InputError
from ringebu_journal.models import Action, Decision

from .engine import ContextItem, Judge

PLATFORMS = ("facebook", "messenger", "instagram", "x")
KINDS = ("comment", "message")
_MUNICIPALITY_PREFIX = "ringebu kommune:"


class LabelledCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: StrictStr
    platform: StrictStr
    kind: StrictStr
    author: Literal["citizen", "municipality"]
    text: StrictStr
    journal: StrictBool
    screen: StrictBool
    actions: list[Action]
    hard: StrictBool = False
    context: list[ContextItem] = Field(default_factory=list)
    line: int = 0


class Misjudged(BaseModel):
    id: str
    line: int
    text: str
    problems: list[str]
    decision: Decision
    actions: list[str]
    screen: bool
    reasons: list[str]


class Ratio(BaseModel):
    hits: int
    total: int

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 1.0

    def __str__(self) -> str:
        return f"{self.value:.3f} ({self.hits}/{self.total})"


class EvaluationReport(BaseModel):
    path: str
    cases: int
    policy_version: str
    policy_hash: str
    decisions: dict[str, int]
    journal_recall: Ratio
    journal_precision: Ratio
    review_rate: Ratio                 # review share of all cases
    review_load: Ratio                 # review share of cases not marked hard: the target (≤ 20 %)
    screening_recall: Ratio
    screening_precision: Ratio
    action_recall: dict[str, Ratio]
    channel_consistency: Ratio
    misjudged: list[Misjudged]
    model_hash: str = ""
    review_budget: float = 0.20        # the policy's [model] review_budget: the review-load target

    def metrics(self) -> dict[str, float]:
        m = {
            "journal_recall": self.journal_recall.value,
            "journal_precision": self.journal_precision.value,
            "review_rate": self.review_rate.value,
            "review_load": self.review_load.value,
            "screening_recall": self.screening_recall.value,
            "screening_precision": self.screening_precision.value,
            "channel_consistency": self.channel_consistency.value,
        }
        m.update({f"recall_{a}": r.value for a, r in self.action_recall.items()})
        return m


def _context(value: Any, where: str, line: int) -> list[ContextItem]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for it in items:
        if isinstance(it, str):
            text = it.strip()
            muni = text.lower().startswith(_MUNICIPALITY_PREFIX)
            if muni:
                text = text[len(_MUNICIPALITY_PREFIX):].strip()
            out.append(ContextItem(text=text, author_is_municipality=muni))
        elif isinstance(it, dict) and isinstance(it.get("text"), str):
            rel = it.get("relation", "parent")
            if rel not in ("parent", "root", "sibling"):
                raise InputError(where, f"line {line}", f"unknown context relation {rel!r}",
                                 "use parent, root or sibling")
            out.append(ContextItem(text=it["text"], author_is_municipality=it.get("author") == "municipality",
                                   relation=rel))
        else:
            raise InputError(where, f"line {line}", "context must be a text, an object with text, or a list of them")
    return out


def read_labelled(path: str | Path) -> list[LabelledCase]:
    """Read and check a labelled JSONL file; a bad line is an InputError with file and line."""
    where = str(path)
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(where, None, "labelled file not found", "give the path of a JSONL file") from None
    except UnicodeDecodeError:
        raise InputError(where, None, "not UTF-8", "save the file as UTF-8") from None
    cases: list[LabelledCase] = []
    seen: set[str] = set()
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InputError(where, f"line {n}", f"not valid JSON: {e.msg} at column {e.colno}") from None
        if not isinstance(obj, dict):
            raise InputError(where, f"line {n}", "each line must be a JSON object")
        try:
            ctx = _context(obj.pop("context", None), where, n)
            case = LabelledCase(**obj, context=ctx, line=n)
        except InputError:
            raise
        except Exception as e:  # pydantic ValidationError: report the first field problem
            errs = getattr(e, "errors", lambda: [])()
            what = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in errs[:3]) or str(e)
            raise InputError(where, f"line {n}", f"bad labelled case: {what}",
                             "fields: id, platform, kind, author, text, journal, screen, actions, hard, context") from None
        if case.id in seen:
            raise InputError(where, f"line {n}", f"duplicate id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return cases


def evaluate_cases(cases: Sequence[LabelledCase], judge: Judge, path: str = "") -> EvaluationReport:
    decisions: dict[str, int] = {d.value: 0 for d in Decision}
    jr_hit = jr_tot = jp_hit = jp_tot = rev = rev_load = nonhard = 0
    sr_hit = sr_tot = sp_hit = sp_tot = 0
    act_hit = {a.value: 0 for a in Action}
    act_tot = {a.value: 0 for a in Action}
    consistent = 0
    misjudged: list[Misjudged] = []
    for c in cases:
        muni = c.author == "municipality"
        res = judge.judge(c.text, author_is_municipality=muni, context=c.context)
        d = res.decision
        decisions[d.value] += 1
        problems = []
        if c.journal:
            jr_tot += 1
            if d in (Decision.journal, Decision.review):
                jr_hit += 1
            else:
                problems.append(f"journal case decided {d.value}")
        if d == Decision.journal:
            jp_tot += 1
            if c.journal:
                jp_hit += 1
            else:
                problems.append("decided journal, but it is not a journal case")
        if d == Decision.review:
            rev += 1
            if not c.hard:
                rev_load += 1
                problems.append("sent to review, but the case is not hard")
        if not c.hard:
            nonhard += 1
        if c.screen:
            sr_tot += 1
            if res.screening.screen:
                sr_hit += 1
            else:
                problems.append("screening missed")
        if res.screening.screen:
            sp_tot += 1
            if c.screen:
                sp_hit += 1
            else:
                problems.append("screened, but nothing to screen")
        got = {a.value for a in res.actions}
        for a in c.actions:
            act_tot[a.value] += 1
            if a.value in got:
                act_hit[a.value] += 1
            else:
                problems.append(f"action {a.value} missing")
        # Channel blindness: the judge has no platform or kind parameter, so the same call is made
        # for every channel; the comparison guards against any state carried between calls.
        same = True
        for _platform in PLATFORMS:
            for _kind in KINDS:
                other = judge.judge(c.text, author_is_municipality=muni, context=c.context)
                if (other.decision, other.actions, other.screening.screen) != (d, res.actions, res.screening.screen):
                    same = False
        consistent += same
        if not same:
            problems.append("different decision on another channel")
        if problems:
            misjudged.append(Misjudged(
                id=c.id, line=c.line, text=c.text, problems=problems, decision=d,
                actions=sorted(got), screen=res.screening.screen, reasons=[r.line() for r in res.reasons]))
    n = len(cases)
    return EvaluationReport(
        path=path, cases=n, policy_version=judge.policy.version, policy_hash=judge.policy.sha256,
        decisions=decisions,
        journal_recall=Ratio(hits=jr_hit, total=jr_tot), journal_precision=Ratio(hits=jp_hit, total=jp_tot),
        review_rate=Ratio(hits=rev, total=n), review_load=Ratio(hits=rev_load, total=nonhard),
        screening_recall=Ratio(hits=sr_hit, total=sr_tot), screening_precision=Ratio(hits=sp_hit, total=sp_tot),
        action_recall={a: Ratio(hits=act_hit[a], total=act_tot[a]) for a in act_hit},
        channel_consistency=Ratio(hits=consistent, total=n), misjudged=misjudged,
        model_hash=judge.model_hash, review_budget=float(judge.policy.model["review_budget"]),
    )


def evaluate_file(path: str | Path, judge: Judge) -> EvaluationReport:
    """Judge every case of a labelled JSONL file and score the results."""
    return evaluate_cases(read_labelled(path), judge, str(path))


#: Quality targets; the review-load target is the policy's review budget (0.20 unless changed).
TARGETS = {
    "journal_recall": (">=", 0.97), "journal_precision": (">=", 0.90), "review_load": ("<=", 0.20),
    "screening_recall": (">=", 0.90), "recall_refer_political": (">=", 0.90), "recall_remove": (">=", 0.90),
    "recall_reply": (">=", 0.85), "channel_consistency": (">=", 1.0),
}


def target_failures(report: EvaluationReport) -> list[str]:
    """The quality targets the report misses, as readable lines (empty when all are met)."""
    m = report.metrics()
    out = []
    for k, (op, v) in TARGETS.items():
        if k == "review_load":
            v = report.review_budget
        ok = m[k] >= v if op == ">=" else m[k] <= v
        if not ok:
            out.append(f"{k} = {m[k]:.3f}, target {op} {v}")
    return out


def format_report(report: EvaluationReport, fmt: str = "text") -> str:
    """The report as readable text or as JSON (with the metric values)."""
    if fmt == "json":
        data = report.model_dump()
        data["metrics"] = report.metrics()
        data["targets_missed"] = target_failures(report)
        return json.dumps(data, ensure_ascii=False, indent=2)
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r}: use text or json")
    r = report
    lines = [
        f"Evaluation of {r.path}: {r.cases} cases, policy {r.policy_version} ({r.policy_hash[:12]}), "
        + (f"model {r.model_hash[:12]}" if r.model_hash else "rules only"),
        "decisions: " + ", ".join(f"{k} {v}" for k, v in r.decisions.items()),
        f"journal recall (journal or review)   {r.journal_recall}   target ≥ 0.97",
        f"journal precision (automatic)        {r.journal_precision}   target ≥ 0.90",
        f"review load (non-hard cases)         {r.review_load}   target ≤ {r.review_budget:.2f} (review budget)",
        f"review rate (all cases)              {r.review_rate}",
        f"screening recall                     {r.screening_recall}   target ≥ 0.90",
        f"screening precision                  {r.screening_precision}",
    ]
    for a, ratio in r.action_recall.items():
        tgt = "   target ≥ 0.90" if a in ("refer_political", "remove") else "   target ≥ 0.85" if a == "reply" else ""
        lines.append(f"recall {a:<29} {ratio}{tgt}")
    lines.append(f"channel consistency                  {r.channel_consistency}   target 1.000")
    missed = target_failures(r)
    lines.append("targets: all met" if not missed else "targets missed: " + "; ".join(missed))
    if r.misjudged:
        lines.append("")
        lines.append(f"misjudged ({len(r.misjudged)}):")
        for m in r.misjudged:
            lines.append(f"- {m.id} (line {m.line}) → {m.decision.value}, actions {','.join(m.actions) or '-'}, "
                         f"screen {'yes' if m.screen else 'no'}: {'; '.join(m.problems)}")
            lines.append(f"    text: {m.text[:160]}")
            for reason in m.reasons:
                lines.append(f"    · {reason}")
    return "\n".join(lines)
