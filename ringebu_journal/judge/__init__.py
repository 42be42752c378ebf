"""The content judge: decides from a message's content whether it is journalført, archived,
excluded or sent to review, with the guideline's actions, a screening proposal and its reasons.

    from ringebu_journal.judge import Judge, load_policy
    judge = Judge(load_policy())            # or load_policy("my_policy.toml")
    result = judge.judge("Jeg klager på vedtaket om skoleskyss.")
"""

from .engine import ContextItem, Judge, normalise
from .evaluate import EvaluationReport, evaluate_file, format_report
from .policy import Policy, Rule, load_policy

__all__ = ["ContextItem", "EvaluationReport", "Judge", "Policy", "Rule", "evaluate_file", "format_report",
           "load_policy", "normalise"]
