"""The allow-list behind "no English in what a coordinator reads" (help, run and status summaries)."""

from __future__ import annotations

import re

# Names of tools and formats, which Chinese text writes in Latin letters too.
TECH_WORDS = frozenset({
    "duban", "Prefect", "JSON", "HTML", "Excel", "Word", "PDF", "Markdown", "SMTP", "IMAP", "APScheduler",
    "worker", "Secret", "cron", "sha256", "yaml", "xlsx", "docx", "eml", "TLS", "STARTTLS",
})
ASCII_WORD = re.compile(r"-{0,2}[A-Za-z][A-Za-z0-9_.\-/@:'<>$]*")
BOX = re.compile(r"[│╭╮╰╯─┃┏┓┗┛━┡┩╇┳┻╋]")
# Paths, ids (half-year-summary, t08-cste, remind-5), dates, addresses, options, placeholders.
SHAPED = re.compile(r"[\d_./@<>:$-]")


def english_words(text: str, allowed: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The ASCII words of ``text`` that are neither a tool's name, nor shaped like an id, a
    path or an option, nor in ``allowed`` (command names, plan ids, option values)."""
    found = []
    for word in ASCII_WORD.findall(BOX.sub(" ", text)):
        word = word.rstrip(".:'")
        if not word or word in TECH_WORDS or word in allowed or word.startswith("-") or word.isupper():
            continue
        if SHAPED.search(word):
            continue
        found.append(word)
    return found


def flat(text: str) -> str:
    """``text`` without whitespace: compares a message's words whatever the 80-column folding
    (flows/commands/terminal.fold) did to its lines."""
    return re.sub(r"\s+", "", text)
