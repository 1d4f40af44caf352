"""When Sip hands a customer to a person: on request, on frustration, on repeated failure,
and when the model says it cannot help.

Matching is done on accent-folded, lower-cased text with phrase patterns in Spanish and
English, so "quiero hablar con una persona", "pasame con un humano", "human please" and
"talk to an agent" all count, while "¿los humanos pueden ver mi tráfico?" does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sipai.support.prompts import HANDOFF_MARK
from sipai.text.language import fold

_PERSON = r"(persona|humano|human|agente|agent|operador|operator|alguien|someone|somebody|" \
          r"representative|representante|soporte humano|real person|person|people|staff)"
_REQUEST = re.compile(
    r"\b(quiero|quisiera|necesito|puedo|podria|podrias|dejame|pasame|pasadme|paseme|comunicame|"
    r"hablar|habla|contactar|llamar|want|wanna|need|can i|could i|let me|connect me|"
    r"talk|speak|transfer|get me)\b.{0,40}\b" + _PERSON + r"\b"
    r"|^\s*/?(humano|human|persona|agente|agent|operador|operator)"
    r"\s*(please|por favor|pls)?[!.]*\s*$"
    r"|\b" + _PERSON + r"\s+(please|por favor|pls|ya)\b"
    r"|\bhablar con (un|una|el|la|alguien)\b"
)
_FRUSTRATION = re.compile(
    r"\b(no sirve(s)? (de|para) nada|no me (estas|esta) ayudando|no me ayudas|inutil|harto|harta|"
    r"estafa|ladrones|fatal|pesimo|una mierda|que mierda|joder|me cago|"
    r"useless|not helping|this is ridiculous|fed up|scam|waste of (time|money)|wtf|"
    r"you (are|re) not helping|nothing works|still (not|doesn'?t) work|"
    r"sigue sin funcionar|otra vez lo mismo|ya (lo|te) (dije|he dicho))\b"
)
_CANNOT_HELP = re.compile(
    r"\b(no puedo ayudarte con (eso|esto)|no tengo (acceso|forma)|un operador (debe|tiene que)|"
    r"i can'?t help with (that|this)|i (cannot|can'?t) (access|see) your|"
    r"an operator (will|must|needs to))\b"
)


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to escalate and why ("requested", "frustration", "failures", "model")."""

    escalate: bool
    reason: str = ""


class EscalationPolicy:
    """Decides when a conversation needs a human."""

    def __init__(self, max_failures: int = 2) -> None:
        self.max_failures = max_failures

    def wants_human(self, text: str) -> bool:
        """Did the customer ask for a person?"""
        return bool(_REQUEST.search(fold(text)))

    def on_message(self, text: str, failures: int) -> Decision:
        """Before answering: an explicit request, or frustration after earlier failures."""
        folded = fold(text)
        if _REQUEST.search(folded):
            return Decision(True, "requested")
        frustrated = bool(_FRUSTRATION.search(folded)) or _shouting(text)
        if frustrated and failures >= 1:
            return Decision(True, "frustration")
        if failures >= self.max_failures:
            return Decision(True, "failures")
        return Decision(False)

    def on_answer(self, answer: str) -> Decision:
        """After the model answered: did it say it cannot help?"""
        if HANDOFF_MARK in answer or _CANNOT_HELP.search(fold(answer)):
            return Decision(True, "model")
        return Decision(False)

    def is_frustrated(self, text: str) -> bool:
        """Signs of frustration in a message (used to count toward escalation)."""
        return bool(_FRUSTRATION.search(fold(text))) or _shouting(text)


def _shouting(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return (len(letters) >= 12 and sum(ch.isupper() for ch in letters) / len(letters) > 0.8) \
        or "!!!" in text


def strip_handoff(answer: str) -> str:
    """The answer without the hand-off marker."""
    return answer.replace(HANDOFF_MARK, "").rstrip()
