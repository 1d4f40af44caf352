"""Fixed texts Sip says on its own (not written by the model), in Spanish and English."""

from __future__ import annotations

from collections.abc import Mapping

TEXTS: dict[str, dict[str, str]] = {
    "ticket_opened": {
        "es": "He abierto el ticket #{ticket}. Una persona del equipo de soporte revisará tu "
              "conversación y te contestará por aquí lo antes posible. Mientras tanto puedes "
              "seguir escribiéndome.",
        "en": "I've opened ticket #{ticket}. A person from the support team will review your "
              "conversation and answer you here as soon as possible. Meanwhile you can keep "
              "writing to me.",
    },
    "ticket_exists": {
        "es": "Ya tienes abierto el ticket #{ticket}: una persona del equipo te contestará por "
              "aquí. Puedes añadir detalles escribiéndome.",
        "en": "You already have ticket #{ticket} open: a person from the team will answer you "
              "here. You can add details by writing to me.",
    },
    "handoff_after_answer": {
        "es": "\n\nComo esto necesita a una persona, he abierto el ticket #{ticket}; el equipo "
              "te contestará por aquí.",
        "en": "\n\nSince this needs a person, I've opened ticket #{ticket}; the team will answer "
              "you here.",
    },
    "provider_down": {
        "es": "Ahora mismo no puedo consultar a la IA, así que te respondo con nuestra guía:\n\n",
        "en": "I can't reach the AI right now, so here is what our guide says:\n\n",
    },
    "stream_cut": {
        "es": "\n\n(La respuesta se cortó. Si te falta algo, vuelve a preguntar o escribe "
              "/humano.)",
        "en": "\n\n(The answer was cut off. If something is missing, ask again or type /human.)",
    },
    "rate_limited": {
        "es": "Vas muy rápido 🙂 Espera unos {seconds} segundos y vuelve a escribirme, por favor.",
        "en": "You're writing very fast 🙂 Please wait about {seconds} seconds and write again.",
    },
    "budget": {
        "es": "Has llegado al límite diario del asistente automático. Mañana se renueva; si es "
              "urgente escribe /humano y te atiende una persona.",
        "en": "You've reached the automatic assistant's daily limit. It renews tomorrow; if "
              "it's urgent, type /human and a person will help you.",
    },
    "new_conversation": {
        "es": "Listo, empezamos una conversación nueva. ¿En qué te ayudo?",
        "en": "Done, we're starting a new conversation. How can I help?",
    },
    "ended": {
        "es": "Conversación terminada. ¡Gracias por escribir! Si necesitas algo más, aquí estoy.",
        "en": "Conversation ended. Thanks for writing! If you need anything else, I'm here.",
    },
}


def text(key: str, language: str, **values: object) -> str:
    """The fixed text `key` in `language` (Spanish when the language is unknown)."""
    return render(TEXTS, key, language, **values)


def render(table: Mapping[str, Mapping[str, str]], key: str, language: str,
           **values: object) -> str:
    """Text `key` of a `{key: {language: text}}` table in `language` (else Spanish)."""
    variants = table[key]
    return variants.get(language, variants["es"]).format(**values)
