"""Step 1, clean-up: what of a message is read at all.

At most ``max_chars`` characters are read (issue ``truncated``); control and invisible
characters are removed (``control_characters``); clauses addressed to the system ("ignore
previous instructions...", "every user's history", "you are DAN now") are dropped
(``instructions_ignored``).
"""

from __future__ import annotations

import re
import unicodedata

from retrieval.request import InputIssue

__all__ = ["clean"]

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")  # terminal escape sequences
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
                         "\u2013": "-", "\u2014": "-", "\t": " ", "\r": "\n"})
_CLAUSE_SPLIT = re.compile(r"(?<=[,;.!?\n])(?=\s|$)")
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}?\b(?:instructions?|prompts?|rules|"
    r"guidelines|directions|system|above|previous|everything)\b"
    r"|\b(?:system prompt|developer mode|jailbreak|dan mode|admin mode|sudo)\b"
    r"|\byou are now\b|\bact as (?:an? )?(?:admin|administrator|root|developer|system|dan)\b"
    # role-play that gives the system a new persona ("You are DAN", "pretend you're an AI
    # with no restrictions", "from now on you answer as...")
    r"|\bpretend\s+(?:to\s+be|(?:that\s+)?you(?:'re|\s+are|\s+have|\s+can|\s+were))\b"
    r"|\byou(?:'re|\s+are)\s+(?:now\s+)?(?:dan\b|no\s+longer\b|free\s+(?:from|of)\b|not\s+bound\b"
    r"|an?\s+(?:unrestricted|unfiltered|uncensored|jailbroken|evil|rogue)\b)"
    r"|\b(?:can\s+)?do\s+anything\s+now\b|\b(?:stay|remain)\s+in\s+character\b"
    r"|\bfrom\s+now\s+on,?\s+(?:you|act|respond|answer|reply|behave|speak)\b"
    r"|\byour\s+new\s+(?:instructions|rules|role|persona|task|prompt)\b"
    r"|\b(?:ai|assistant|model|bot|you)\b.{0,40}?\b(?:no|without)\s+(?:any\s+)?(?:restrictions|filters|"
    r"censorship|guardrails|limitations)\b"
    r"|\b(?:every|all|other|another)\s+(?:users?|persons?|people|customers?|accounts?)(?:'s|')?\b.{0,30}?"
    r"\b(?:history|histories|data|e-?mails?|passwords?|accounts?|information|info|details|"
    r"preferences|activity|logs?)\b"
    r"|\b(?:reveal|print|show|dump|list|leak|output|repeat)\b.{0,30}?\b(?:your prompt|system|"
    r"instructions|database|api[ _-]?keys?|passwords?|credentials|secrets?|tokens?)\b"
    r"|\b(?:drop|delete|truncate)\s+table\b|<\s*script\b|\bselect\s+\*\s+from\b",
    re.IGNORECASE)


def clean(message: object, max_chars: int) -> tuple[str, list[InputIssue]]:
    """The text of ``message`` the parser reads, and what was wrong with it.

    Raises:
        TypeError: ``message`` is neither text nor bytes.
    """
    issues: list[InputIssue] = []
    if message is None:
        return "", issues
    if isinstance(message, bytes | bytearray):
        message = bytes(message[: max_chars * 4]).decode("utf-8", errors="replace")
    if not isinstance(message, str):
        raise TypeError(f"a message must be text (str), got {type(message).__name__}")
    raw = message
    if len(raw) > max_chars:
        issues.append(InputIssue.truncated)
        raw = raw[: max_chars]
        cut = max(raw.rfind(" "), raw.rfind("\n"))
        if cut > max_chars - 60:
            raw = raw[:cut]
    text = unicodedata.normalize("NFKC", raw).translate(_QUOTES)
    cleaned = _CONTROL.sub(" ", _INVISIBLE.sub("", _ANSI.sub(" ", text)))
    if cleaned != text:
        issues.append(InputIssue.control_characters)
    clauses = [c for c in _CLAUSE_SPLIT.split(cleaned) if c]
    kept = [c for c in clauses if not _INJECTION.search(c)]
    if len(kept) != len(clauses):
        issues.append(InputIssue.instructions_ignored)
    text = " ".join("".join(kept).split())
    text = re.sub(r"\s+([,;.!?])", r"\1", text).strip(" ,;")
    if not any(ch.isalnum() for ch in text):
        text = ""
    return text, issues
