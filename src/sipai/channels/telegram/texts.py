"""Fixed texts of the Telegram bot (greeting, help, operator relay, errors) in Spanish and English.

The support service's own fixed texts (ticket opened, new conversation, ended) live in
`sipai.support.texts`; these are the ones only the Telegram channel says. Operators' texts
(the admin chat) use `SIP_LANGUAGE`; customers' texts use their Telegram language. In the
operators' texts `{user}` is already HTML (the customer's name and id, escaped).
"""

from __future__ import annotations

from sipai.support.texts import render

TEXTS: dict[str, dict[str, str]] = {
    "start": {
        "es": "¡Hola, {name}! Soy Sip, el asistente de soporte de {service} 🤖\n\n"
              "Puedo ayudarte a instalar y configurar WireGuard u Outline, a resolver "
              "problemas de conexión (conecta pero no hay internet, va lento, DNS…) y con "
              "dudas de tu cuenta y tu plan.\n\n"
              "Escríbeme tu pregunta con tus palabras. También puedes usar:\n"
              "/nuevo — empezar una conversación nueva\n"
              "/humano — hablar con una persona del equipo\n"
              "/fin — terminar la conversación",
        "en": "Hi {name}! I'm Sip, the support assistant of {service} 🤖\n\n"
              "I can help you install and set up WireGuard or Outline, fix connection "
              "problems (connected but no internet, slow, DNS…) and answer questions about "
              "your account and plan.\n\n"
              "Just write your question. You can also use:\n"
              "/new — start a new conversation\n"
              "/human — talk to a person from the team\n"
              "/end — end the conversation",
    },
    "unknown_command": {
        "es": "No conozco ese comando. Escríbeme tu pregunta, o usa /nuevo, /humano o /fin.",
        "en": "I don't know that command. Write your question, or use /new, /human or /end.",
    },
    "text_only": {
        "es": "Por ahora solo leo mensajes de texto. Escríbeme tu pregunta, por favor.",
        "en": "For now I can only read text messages. Please type your question.",
    },
    "not_ended": {
        "es": "No había ninguna conversación abierta. Si necesitas algo, escríbeme.",
        "en": "There was no open conversation. If you need anything, just write.",
    },
    "error": {
        "es": "Lo siento, algo ha fallado por mi parte 😕 Vuelve a intentarlo en un momento; "
              "si sigue pasando, escribe /humano y te atiende una persona.",
        "en": "Sorry, something went wrong on my side 😕 Please try again in a moment; if it "
              "keeps happening, type /human and a person will help you.",
    },
    "thanks": {"es": "¡Gracias por tu valoración!", "en": "Thanks for your feedback!"},
    "not_yours": {
        "es": "Solo quien hizo la pregunta puede valorarla.",
        "en": "Only the person who asked can rate this answer.",
    },
    "talk_to_person": {"es": "Hablar con una persona", "en": "Talk to a person"},
    "sources": {"es": "Fuentes", "en": "Sources"},
    # The customer's side of a handoff.
    "operator_took": {
        "es": "👤 Una persona del equipo de soporte ha tomado tu ticket #{ticket} y te "
              "contestará por aquí. Lo que escribas ahora le llega directamente.",
        "en": "👤 A person from the support team has taken your ticket #{ticket} and will "
              "answer you here. What you write now goes straight to them.",
    },
    "operator_says": {"es": "👤 Soporte:\n{text}", "en": "👤 Support:\n{text}"},
    "ticket_closed": {
        "es": "✅ El equipo ha cerrado tu ticket #{ticket}. Vuelve a atenderte Sip: "
              "escríbeme si necesitas algo más.",
        "en": "✅ The team has closed your ticket #{ticket}. Sip is back: write to me if "
              "you need anything else.",
    },
    # The operators' side (admin chat).
    "admin_ticket": {
        "es": "🎫 <b>Ticket #{ticket}</b> · {channel}\nCliente: {user} · "
              "motivo: {reason}\n\n{summary}",
        "en": "🎫 <b>Ticket #{ticket}</b> · {channel}\nCustomer: {user} · "
              "reason: {reason}\n\n{summary}",
    },
    # Appended to a ticket's channel: operators' replies will be read by the whole group.
    "admin_in_group": {"es": " · 👥 en un grupo", "en": " · 👥 in a group"},
    "admin_no_summary": {"es": "(sin mensajes todavía)", "en": "(no messages yet)"},
    "take": {"es": "🙋 Tomar el ticket", "en": "🙋 Take the ticket"},
    "admin_taken": {"es": "🙋 Tomado por {operator}", "en": "🙋 Taken by {operator}"},
    "admin_customer_ended": {
        "es": "✅ Ticket #{ticket} cerrado: el cliente terminó la conversación.",
        "en": "✅ Ticket #{ticket} closed: the customer ended the conversation.",
    },
    "admin_customer_says": {
        "es": "💬 <b>#{ticket}</b> · cliente {user}:\n{text}",
        "en": "💬 <b>#{ticket}</b> · customer {user}:\n{text}",
    },
    "admin_taken_toast": {"es": "Ticket #{ticket} es tuyo", "en": "Ticket #{ticket} is yours"},
    "admin_already_taken": {
        "es": "Ya lo atiende otra persona", "en": "Someone else already has it",
    },
    "admin_ticket_closed": {
        "es": "El ticket #{ticket} ya está cerrado.", "en": "Ticket #{ticket} is already closed.",
    },
    "admin_unknown_ticket": {
        "es": "No encuentro ese ticket. Responde al mensaje del ticket o usa /cerrar N.",
        "en": "I can't find that ticket. Reply to the ticket's message or use /cerrar N.",
    },
    "admin_not_telegram": {
        "es": "El cliente del ticket #{ticket} no está en Telegram: contéstale desde la consola.",
        "en": "Ticket #{ticket}'s customer is not on Telegram: answer from the console.",
    },
    "admin_undelivered": {
        "es": "⚠️ No pude entregar tu respuesta al cliente del ticket #{ticket}.",
        "en": "⚠️ I could not deliver your answer to ticket #{ticket}'s customer.",
    },
    "admin_closed_ok": {
        "es": "✅ Ticket #{ticket} cerrado por {operator}. Sip vuelve a atender al cliente.",
        "en": "✅ Ticket #{ticket} closed by {operator}. Sip is back with the customer.",
    },
    "operators_only": {
        "es": "Este comando es solo para el equipo de soporte.",
        "en": "This command is for the support team only.",
    },
}


def say(key: str, language: str, **values: object) -> str:
    """The fixed text `key` in `language` (Spanish when the language is unknown)."""
    return render(TEXTS, key, language, **values)


def language_of(language_code: str | None, default: str) -> str:
    """Sip's language for a Telegram `language_code` (`es-ES` → es, `en` → en, else default)."""
    code = (language_code or "").lower()[:2]
    return code if code in ("es", "en") else default


__all__ = ["TEXTS", "language_of", "say"]
