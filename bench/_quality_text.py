"""Text analysis for the quality study's levers: time expressions, query entities, bigrams.

Everything here is language-level (English time words, capitalisation, word adjacency) and works
on any memory text; nothing knows about LoCoMo's speakers, phrasing or file layout.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from itertools import pairwise

import numpy as np

from mnemoweave._keywords import STOPWORDS, query_terms, terms_blob, tokenize

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "january february march april may june july august september october november december"
).split()
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "few": 3, "couple of": 2, "several": 3,
}  # fmt: skip
_UNIT = r"(day|week|month|year)s?"
_AMOUNT = r"(\d+|" + "|".join(_NUMBERS) + r")"
_DAYNAMES = "|".join(_WEEKDAYS)
_MONTHNAMES = "|".join(m for m in _MONTHS if m != "may")  # "may" is mostly the modal verb

#: A question about time: when something happened, how long ago, which year or month.
TIME_QUERY = re.compile(
    r"\b(when|how long|how many (days|weeks|months|years)|what (year|month|day|date|time)"
    r"|which (year|month|day|date)|in what (year|month)|since|ago|before|after)\b",
    re.IGNORECASE,
)

#: A question asking for several things: a plural after what/which, "how many", "all", "both".
LIST_QUERY = re.compile(
    r"^\s*(what|which)\s+(\w+\s+)?(\w+s)\b(?<!\bis)(?<!\bwas)(?<!\bdoes)(?<!\bhas)"
    r"|\bhow many\b|\b(all|both|each|every)\b|\bwhat (are|were) (the|some|her|his|their)\b",
    re.IGNORECASE,
)

#: An event-time expression inside a memory's own words (not its observation timestamp).
TIME_MENTION = re.compile(
    r"\b(yesterday|today|tonight|tomorrow|recently|lately|"
    r"(last|next|this|past|coming) (night|morning|evening|week|weekend|month|year|summer|winter|"
    rf"spring|fall|autumn|{_DAYNAMES})|{_AMOUNT} {_UNIT} ago|ago|{_DAYNAMES}|{_MONTHNAMES}|"
    r"in may|may \d{1,2}|\d{1,2} may|(19|20)\d\d)\b",
    re.IGNORECASE,
)

# Relative expressions that resolve against the observation time: (pattern, resolver).
_RELATIVE = re.compile(
    r"\b(?P<day>yesterday|today|tonight|tomorrow)\b"
    rf"|\b(?P<dir>last|next|this|past) (?P<unit>night|week|weekend|month|year|{_DAYNAMES})\b"
    rf"|\b(?P<n>{_AMOUNT}) (?P<agounit>{_UNIT}) ago\b",
    re.IGNORECASE,
)
_DATE = re.compile(rf"\b(\d{{1,2}})\s+({'|'.join(_MONTHS)}),?\s+((?:19|20)\d\d)\b", re.IGNORECASE)


def parse_date(text: str) -> datetime | None:
    """The first ``<day> <month> <year>`` date in ``text`` (a stand-in for a memory's timestamp)."""
    m = _DATE.search(text)
    if not m:
        return None
    try:
        return datetime(int(m.group(3)), _MONTHS.index(m.group(2).lower()) + 1, int(m.group(1)))
    except ValueError:
        return None


def _shift_months(when: datetime, months: int) -> datetime:
    index = when.year * 12 + when.month - 1 + months
    return when.replace(year=index // 12, month=index % 12 + 1, day=1)


def resolve_relative(text: str, observed: datetime | None) -> list[str]:
    """Words naming the month and year that ``text``'s relative time expressions point at.

    "yesterday" said on 8 May 2023 gives ``["may", "2023"]``; "last year" gives ``["2022"]``.
    These are added to a memory's keyword terms so a query naming the month or year finds it.
    """
    if observed is None:
        return []
    words: list[str] = []
    for m in _RELATIVE.finditer(text):
        year_only = False
        if m.group("day"):
            offset = {"yesterday": -1, "tomorrow": 1}.get(m.group("day").lower(), 0)
            when = observed + timedelta(days=offset)
        elif m.group("dir"):
            sign = {"last": -1, "past": -1, "next": 1}.get(m.group("dir").lower(), 0)
            unit = m.group("unit").lower()
            if unit == "month":
                when = _shift_months(observed, sign)
            elif unit == "year":
                when, year_only = observed.replace(year=observed.year + sign, day=1), True
            else:  # night, week, weekend, a weekday: within about a week
                when = observed + timedelta(days=7 * sign if unit != "night" else sign)
        else:
            raw = m.group("n").lower()
            n = int(raw) if raw.isdigit() else _NUMBERS[raw]
            unit = m.group("agounit").lower().rstrip("s")
            if unit == "year":
                when, year_only = observed.replace(year=observed.year - n, day=1), True
            elif unit == "month":
                when = _shift_months(observed, -n)
            else:
                when = observed - timedelta(days=n * (7 if unit == "week" else 1))
        if not year_only:
            words.append(_MONTHS[when.month - 1])
        words.append(str(when.year))
    return words


def time_blob(text: str, observed: datetime | None) -> bytes:
    """Extra keyword terms for a memory: its resolved relative dates (``b""`` when none)."""
    words = resolve_relative(text, observed)
    return terms_blob(" ".join(words)) if words else b""


_QUERY_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_QUESTION_WORDS = frozenset("according based did do does has is was would in for around".split())


def query_entities(query: str) -> np.ndarray:
    """Term ids of the query's names: capitalised words other than a sentence-initial function word.

    "When did Caroline go to the LGBTQ support group?" gives the terms of "Caroline LGBTQ".
    """
    names = []
    for i, m in enumerate(_QUERY_WORD.finditer(query)):
        word = re.sub(r"['’]s$", "", m.group())
        if not word[:1].isupper():
            continue
        lower = word.lower()
        initial = i == 0 or query[: m.start()].rstrip().endswith((".", "?", "!"))
        if initial and (lower in STOPWORDS or lower in _QUESTION_WORDS):
            continue
        names.append(word)
    return query_terms(" ".join(names)) if names else np.zeros(0, dtype=np.int64)


def bigram_words(text: str) -> list[str]:
    """Adjacent keyword-term pairs of ``text`` (after stopword removal), joined by ``_``."""
    terms = tokenize(text)
    return [f"{a}_{b}" for a, b in pairwise(terms)]


def bigram_blob(text: str) -> bytes:
    """The bigrams of ``text`` hashed like single terms (one id per pair)."""
    from mnemoweave._keywords import _term_bytes

    return b"".join(_term_bytes(w) for w in bigram_words(text))


def bigram_query(text: str) -> np.ndarray:
    """Unique sorted bigram ids of a query."""
    blob = bigram_blob(text)
    return np.array(sorted(set(np.frombuffer(blob, dtype="<i8").tolist())), dtype=np.int64)
