"""Who says what in a sentence: the government (or the department, a minister, NHS England), someone
quoted or reported, or the author.

A sentence in which the government acts on a recommendation ("ministers rejected the target", "the
proposal was turned down by DHSC", "the government's response accepts...") states or reports a
government position in any kind of document; it is never the author's stance. Words in quotation
marks or after "said" belong to their speaker.
"""

from __future__ import annotations

import re

GOVERNMENT = (
    r"(?:the\s+)?(?:uk\s+)?government(?:'s|’s)?|ministers?|the\s+(?:health\s+)?secretary(?:\s+of\s+state)?|health\s+secretary"
    r"|dhsc|the\s+department(?:\s+of\s+health(?:\s+and\s+social\s+care)?)?|department\s+of\s+health(?:\s+and\s+social\s+care)?"
    r"|whitehall|(?:the\s+)?treasury|downing\s+street|no\.?\s?10|nhs\s+england|nhse|the\s+centre"
)
ACTS = (
    r"accept\w*|reject\w*|agree\w*|recogni[sz]\w*|declin\w*|refus\w*|turn\w*\s+down|rul\w*\s+out|dismiss\w*|welcom\w*|not\w*|acknowledg\w*"
    r"|commit\w*|respond\w*|response|decision|position|said|say\w*|stat(?:e|es|ed|ing|ement|ements)|confirm\w*|announc\w*|plan\w*|intend\w*"
    r"|will|would|won['’]t|does\s+not|did\s+not|has|have|had|is|was|backed|support\w*|consider\w*|explor\w*|review\w*"
)
# The government as the subject of an act (up to five words between), or as the agent of a passive.
GOVERNMENT_ACTS = re.compile(
    rf"\b(?:{GOVERNMENT})\b(?:\W+\w+){{0,5}}?\W+(?:{ACTS})\b|\b(?:by|from)\s+(?:{GOVERNMENT})\b",
    re.IGNORECASE,
)
# What `without_government` cuts: the whole act (the longest run up to an act word), or a passive with its verb.
GOVERNMENT_ACT_SPAN = re.compile(
    rf"\b(?:{GOVERNMENT})\b(?:\W+\w+){{0,5}}\W+(?:{ACTS})\b|\b(?:\w+\W+){{1,2}}(?:by|from)\s+(?:{GOVERNMENT})\b",
    re.IGNORECASE,
)
REPORTED = re.compile(r"[“\"](?P<quoted>[^”\"]{12,})[”\"]|\b(?:said|says|told|according to|argued|warned|added)\b", re.IGNORECASE)
AUTHOR = re.compile(r"\b(?:we|our|us|i)\b", re.IGNORECASE)


GOVERNMENT_NAMED = re.compile(rf"\b(?:{GOVERNMENT})\b", re.IGNORECASE)
# A name after one of these is an object ("recommendations to government", "work with NHS England").
OBJECT_OF = re.compile(r"\b(?:to|for|by|from|of|on|with|at|against|towards|into|about|than|and|or)\s+(?:the\s+)?(?:uk\s+)?$", re.IGNORECASE)
LAST_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def names_government(text: str) -> bool:
    """Whether the government is named at all: regretting its refusal needs it named, not acting."""
    return GOVERNMENT_NAMED.search(text) is not None


def speaks_for_government(lead_in: str) -> bool:
    """A list lead-in whose last sentence has the government as its subject ("In its response, the
    department:", "Ministers have agreed to:") makes it the speaker of the bullets under it; one that
    merely mentions it ("NHS England will lead recovery. Delivery should include:", "Our asks of
    government:", "We urge the government to:") does not."""
    last = LAST_SENTENCE.split(lead_in.strip())[-1]
    before = [last[: found.start()] for found in GOVERNMENT_NAMED.finditer(last)]
    return any(OBJECT_OF.search(text) is None and AUTHOR.search(text) is None for text in before)


def without_government(sentence: str) -> str:
    """The sentence with the government's own acts cut out, so what is left is the author's view
    ("That the government has accepted X is promising" -> "That X is promising")."""
    return GOVERNMENT_ACT_SPAN.sub(" ", sentence)


def government_acts(sentence: str) -> bool:
    """True when the government (department, minister, NHS England) is the one acting in the sentence."""
    return GOVERNMENT_ACTS.search(sentence) is not None


def speaker(sentence: str) -> str:
    """'government', 'reported' (quoted or reported speech of someone else) or 'author'."""
    if government_acts(sentence) and not _author_reacts(sentence):
        return "government"
    if REPORTED.search(sentence) and not AUTHOR.search(sentence.split('"')[0]):
        return "reported"
    return "author"


def _author_reacts(sentence: str) -> bool:
    """'We are disappointed that the government rejected X': the author speaks, about the government."""
    first = re.search(rf"\b(?:{GOVERNMENT})\b", sentence, re.IGNORECASE)
    return first is not None and AUTHOR.search(sentence[: first.start()]) is not None
