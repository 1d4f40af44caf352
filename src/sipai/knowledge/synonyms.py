"""How customers say it versus how articles say it: a small query-expansion map.

Customers write "no navega", "se cae", "la vpn está puesta"; articles say "sin conexión a
internet", "se desconecta", "conectado". When a query contains a trigger phrase (compared
accent-folded, on word boundaries), the expansion's words are added to the query at a lower
weight, so they help recall without outranking what the customer actually wrote.
Only queries are expanded; articles are indexed as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from sipai.text.language import fold

__all__ = ["EXPANSION_WEIGHT", "expansions"]

#: Weight of an expansion term relative to a word the customer wrote.
EXPANSION_WEIGHT: Final = 0.4

_RULES: Final[Mapping[str, tuple[tuple[tuple[str, ...], str], ...]]] = {
    "es": (
        (("no navega", "no navego", "no carga", "no cargan", "no abre", "no abren",
          "no hay internet", "no tengo internet", "sin internet", "sin red", "no va internet",
          "internet no va", "no tengo red"),
         "sin conexión a internet navegar páginas"),
        (("se cae", "se me cae", "se corta", "se desconecta", "se va", "se cayo",
          "se cuelga", "intermitente"),
         "se desconecta caída estabilidad"),
        (("vpn puesta", "vpn activada", "vpn encendida", "vpn prendida", "vpn activa",
          "esta conectada", "esta conectado", "dice conectado", "sale conectado"),
         "conectado activo"),
        (("va lento", "va lenta", "muy lento", "muy lenta", "lentitud", "tarda mucho"),
         "lento velocidad"),
        (("no conecta", "no se conecta", "no me conecta", "no me deja conectar",
          "no puedo conectar", "no logro conectar"),
         "no conecta conectar error handshake"),
        (("me cobraron", "cobro doble", "cobrado dos veces", "me cobro", "devolucion"),
         "pago cobro reembolso"),
        (("pongo", "poner", "meto", "meter", "agrego", "agregar"), "instalar añadir importar"),
        (("celu", "cel"), "celular móvil"),
        (("compu", "pc", "laptop", "portatil"), "computadora ordenador"),
        (("iphone", "ipad"), "ios"),
        (("wg",), "wireguard"),
        (("netflix", "streaming", "youtube"), "streaming bloqueo región"),
        (("caduca", "vence", "vencio", "expiro", "se acabo"), "renovar suscripción plan"),
    ),
    "en": (
        (("no internet", "cant browse", "can't browse", "pages don't load",
          "pages dont load", "nothing loads", "no connection", "internet doesn't work",
          "internet doesnt work", "no network"),
         "no internet access browse pages"),
        (("drops", "keeps dropping", "disconnects", "cuts out", "keeps disconnecting",
          "unstable", "drops out"),
         "disconnect drop stability"),
        (("vpn on", "vpn is on", "says connected", "shows connected"), "connected active"),
        (("slow", "laggy", "lag", "takes forever"), "slow speed"),
        (("won't connect", "wont connect", "can't connect", "cant connect",
          "doesn't connect", "doesnt connect", "not connecting"),
         "cannot connect error not connecting handshake"),
        (("charged twice", "double charge", "double charged", "refund", "money back"),
         "payment charge refund"),
        (("cell", "cellphone"), "phone mobile"),
        (("pc", "laptop", "notebook"), "computer"),
        (("iphone", "ipad"), "ios"),
        (("wg",), "wireguard"),
        (("netflix", "youtube"), "streaming blocked region"),
        (("expired", "expires", "ran out"), "renew subscription plan"),
    ),
}


def _compile(language: str) -> list[tuple[re.Pattern[str], str]]:
    compiled = []
    for triggers, expansion in _RULES[language]:
        alternatives = "|".join(re.escape(fold(t)) for t in sorted(triggers, key=len, reverse=True))
        compiled.append((re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)"), expansion))
    return compiled


_COMPILED: Final = {language: _compile(language) for language in _RULES}


# "no me carga", "no le abre": an unstressed pronoun between the words of a trigger.
_CLITIC = re.compile(r"(?<!\w)(?:me|te|le|les|nos)\s+")


def expansions(query: str, language: str) -> list[str]:
    """Return the expansion texts whose trigger phrases occur in `query`."""
    folded = fold(query).replace("’", "'")
    variants = (folded, _CLITIC.sub("", folded)) if language == "es" else (folded,)
    rules = _COMPILED.get(language, [])
    return [expansion for pattern, expansion in rules
            if any(pattern.search(text) for text in variants)]
