"""Input hygiene: what a customer's message must look like before Sip stores or sends it.

Text is decoded strictly (invalid UTF-8 is rejected, not guessed), normalised to NFC,
stripped of control and format characters (keeping line breaks and tabs), trimmed, and
checked for emptiness and length. Prompt-injection attempts are not filtered here: they are
stored and sent as ordinary user text, inside the user role, where the system prompt tells
the model to treat them as text (and the output guard catches a leak).
"""

from __future__ import annotations

import re
import unicodedata

from sipai.errors import InputRejected

_KEEP = {"\n", "\t"}
_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACE_RUNS = re.compile(r"[ \t]{2,}")

MESSAGES = {
    "empty": {"es": "Tu mensaje está vacío. Escribe tu pregunta, por favor.",
              "en": "Your message is empty. Please type your question."},
    "too_long": {"es": "Tu mensaje es demasiado largo (máximo {limit} caracteres). "
                       "Envíalo en partes más cortas, por favor.",
                 "en": "Your message is too long (at most {limit} characters). "
                       "Please send it in shorter parts."},
    "not_text": {"es": "No pude leer tu mensaje (no es texto válido). Escríbelo de nuevo, "
                       "por favor.",
                 "en": "I could not read your message (it is not valid text). "
                       "Please type it again."},
}


class InputProblem(InputRejected):
    """A rejected message, with the reason and a message for the user in each language."""

    def __init__(self, reason: str, limit: int = 0) -> None:
        self.reason = reason
        self.limit = limit
        super().__init__(MESSAGES[reason]["en"].format(limit=limit))

    def for_user(self, language: str) -> str:
        """The explanation in the user's language."""
        texts = MESSAGES[self.reason]
        return texts.get(language, texts["en"]).format(limit=self.limit)


def decode(raw: bytes) -> str:
    """Decode bytes as UTF-8, rejecting anything that is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputProblem("not_text") from None


def clean(text: str | bytes, max_chars: int = 4000) -> str:
    """The message as Sip will store it; raises InputProblem when it must be rejected."""
    if isinstance(text, bytes):
        text = decode(text)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        # Lone surrogates: what Python makes of undecodable bytes in argv or a broken client.
        raise InputProblem("not_text")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if ch in _KEEP or unicodedata.category(ch)[0] != "C")
    text = _SPACE_RUNS.sub(" ", _BLANK_RUNS.sub("\n\n", text)).strip()
    if not text:
        raise InputProblem("empty")
    if len(text) > max_chars:
        raise InputProblem("too_long", max_chars)
    return text
