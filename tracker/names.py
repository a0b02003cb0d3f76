"""Does a text name a recommendation? One home for the ways the tracker finds an item's names (the
register's aliases) in outside text: as a run of words (`Name`), as a bag of words in one clause
(`NameBags`, for the link scorer), as most of a name's words in a sentence (`mentions`, for reported
positions) and by a name's head word near a change word (`heads`, for signals). Words are compared
as five-letter stems, so plurals, spellings and punctuation do not matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse

NAME_STOPWORDS = frozenset(["the", "and", "for", "of", "to", "in", "on", "a", "an", "by", "with", "from", "its", "their", "at", "as", "or", "into", "s"])
ACRONYM = re.compile(r"\b[A-Z][A-Za-z]{0,2}[A-Z]{1,4}s?\b")


def stem_run(text: str) -> str:
    """' natio peer revie offer ': the content words cut to five letters, between spaces, so a name
    is found as a run of words whatever the punctuation, plural or spelling ("programme"/"program")."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return " " + " ".join(word[:5] for word in words if word not in NAME_STOPWORDS) + " "


def name_forms(text: str) -> tuple[str, ...]:
    """A passage's word runs with hyphenated words split and joined ("ring-fenced", "ringfenced")."""
    lower = text.lower()
    return stem_run(lower), stem_run(re.sub(r"(?<=[a-z])-(?=[a-z])", "", lower))


@dataclass(frozen=True)
class Name:
    """A name the register gives an item: an acronym matched as written, or a phrase matched as a run
    of words in a passage (any punctuation, hyphenation, plural or spelling between)."""

    forms: tuple[str, ...]
    acronym: str | None = None
    head: str | None = None  # the last word before any "of" ("share of budgets" -> share); the acronym itself

    @classmethod
    def parse(cls, alias: str) -> Name:
        alias = alias.strip()
        if ACRONYM.fullmatch(alias):
            return cls((), alias, alias)
        head = stem_run(re.split(r"\bof\b", alias)[0]).split()[-1:]
        return cls(tuple(form for form in name_forms(alias) if form.strip()), None, head[0] if head else None)

    @property
    def stems(self) -> frozenset[str]:
        """The words of a phrase name (none for an acronym), as `NameBags` and `mentions` match them."""
        return frozenset(self.forms[0].split()) if self.forms else frozenset()

    def found(self, forms: tuple[str, ...], acronyms: set[str]) -> bool:
        if self.acronym:
            return self.acronym in acronyms
        return any(name in text for name in self.forms for text in forms)


@lru_cache(maxsize=256)
def parse_names(aliases: tuple[str, ...]) -> tuple[Name, ...]:
    return tuple(Name.parse(alias) for alias in aliases if alias.strip())


def mentions(sentence: str, aliases: tuple[str, ...]) -> bool:
    """Whether a sentence names an item: one of its acronyms as written, or every word but one (and at
    least two) of one of its longer names, in any order ("the share of ICS budgets going to prevention").
    One-word names other than acronyms are left out: "capitation" would match "capital"."""
    words, acronyms = set(stem_run(sentence).split()), set(ACRONYM.findall(sentence))
    return any(
        name.acronym in acronyms if name.acronym else len(name.stems) >= 2 and len(name.stems & words) >= max(2, len(name.stems) - 1)
        for name in parse_names(aliases)
    )


@lru_cache(maxsize=256)
def heads(aliases: tuple[str, ...]) -> tuple[frozenset[str], tuple[frozenset[str], ...]]:
    """The head word of each name (acronyms as written) and each longer name's word stems: what a
    change word must be near to be a change to the item."""
    names = parse_names(aliases)
    return frozenset(name.head for name in names if name.head), tuple(name.stems for name in names if len(name.stems) >= 2)


CLAUSE = re.compile(r"[.!?;:\u2022]\s+|\n+|,\s+|\s+and\s+to\s+")


def clause_stems(text: str) -> list[set[str]]:
    """The word stems of each clause of a passage (split at sentence ends, semicolons, colons, bullets
    and commas), hyphenated words both split and joined: a list sentence gives one clause per item."""
    return [set(" ".join(name_forms(clause)).split()) for clause in CLAUSE.split(text) if clause.strip()]


@dataclass
class NameBags:
    """Every recommendation's phrase names as bags of word stems. A clause that uses all the words of
    a name in any order ("reduce the number of national targets" for "number of national targets")
    covers it; the run of words `Name` needs is rarer in how practitioners write."""

    owners: np.ndarray  # (names,) the column each name belongs to
    matrix: sparse.csr_matrix  # (names, stems) 1 where a name uses a stem
    vocabulary: dict[str, int]

    @classmethod
    def build(cls, aliases: list[list[Name]]) -> NameBags:
        bags = [(column, name.stems) for column, names in enumerate(aliases) for name in names if name.stems]
        vocabulary: dict[str, int] = {}
        rows, cols = [], []
        for row, (_, stems) in enumerate(bags):
            for stem in sorted(stems):
                rows.append(row)
                cols.append(vocabulary.setdefault(stem, len(vocabulary)))
        matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(bags), max(1, len(vocabulary))))
        return cls(np.array([column for column, _ in bags], dtype=np.int64), matrix, vocabulary)

    def cover(self, texts: list[str], columns: np.ndarray) -> np.ndarray:
        """(passages, columns): the largest share of one name's words that one clause of a passage uses."""
        found = np.zeros((len(texts), len(columns)), dtype=np.float32)
        names = np.nonzero(np.isin(self.owners, columns))[0]  # grouped by owner, as built
        clauses = [(row, stems) for row, text in enumerate(texts) for stems in clause_stems(text)]
        used = [(i, self.vocabulary[stem]) for i, (_, stems) in enumerate(clauses) for stem in stems if stem in self.vocabulary]
        if len(names) == 0 or not used:
            return found
        rows, stems = zip(*used)
        incidence = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, stems)), shape=(len(clauses), self.matrix.shape[1]))
        chosen = self.matrix[names]
        share = (incidence @ chosen.T).toarray() / np.asarray(chosen.sum(axis=1)).ravel()
        passage_of = np.array([row for row, _ in clauses])  # clauses come in passage order
        first = np.nonzero(np.r_[True, passage_of[1:] != passage_of[:-1]])[0]
        per_passage = np.zeros((len(texts), len(names)), dtype=np.float32)
        per_passage[passage_of[first]] = np.maximum.reduceat(share, first, axis=0)
        return max_by_owner(per_passage, self.owners[names], columns, found)


def word_stems(texts: Iterable[str]) -> set[str]:
    """The stems `stem_run` finds in the texts; the stems of a document are the union of its chunks'."""
    return set(stem_run(" ".join(texts)).split())


def max_by_owner(values: np.ndarray, owners: np.ndarray, wanted: np.ndarray, out: np.ndarray) -> np.ndarray:
    """`out` (rows, wanted) with each row's largest value per owner filled in; the columns of `values`
    (rows, entries) are grouped by owner (`owners`: one of `wanted` each)."""
    starts = np.nonzero(np.r_[True, owners[1:] != owners[:-1]])[0]
    order = np.argsort(wanted)
    out[:, order[np.searchsorted(wanted, owners[starts], sorter=order)]] = np.maximum.reduceat(values, starts, axis=1)
    return out
