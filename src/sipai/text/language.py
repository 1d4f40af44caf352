"""Which language a customer writes in (Spanish or English), and each language's function words.

Detection is offline and fast, and tuned for what support chats look like: short messages,
typos, no accents, slang ("xq", "porfa", "pls"), product names mixed in ("mi wireguard no
conecta"). It adds up cues for each language and picks the stronger:

- whole words: function words (the stopword lists below) and common support words,
  counting only words that belong to one language ("no", "a", "me" belong to both);
- characters: ``¿ ¡ ñ`` and accented vowels are Spanish; ``n't``/``'s`` contractions and
  letter patterns such as ``th``, ``sh``, ``w``, ``-ing`` lean English;
- word endings: ``-ción``, ``-mente``, ``-ando`` lean Spanish.

Spanish speakers quote English error messages and buttons ("me sale Unable to create
network adapter"); the reverse is rare. So quoted spans are ignored when the rest of the
message says something, and a Spanish "it tells me" (``me dice``, ``me sale``, ``aparece``)
counts strongly for Spanish while the words after it, what the screen says, are ignored.

A tie (``"ok"``, ``"vpn"``, ``"no internet"``) returns the caller's default.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Final

__all__ = ["STOPWORDS", "detect_language", "fold"]


def fold(text: str) -> str:
    """Lowercase `text` and strip its accents (``"Conexión"`` → ``"conexion"``, ``ñ`` → ``n``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


_ES_STOPWORDS = """
a al algo algun alguna algunas alguno algunos ante antes aqui asi aun cada como con contra
cual cuales cuando de del desde donde dos durante e el ella ellas ello ellos en entre era
eramos eran eras eres es esa esas ese eso esos esta estaba estabamos estaban estabas estad
estado estais estamos estan estar estara estas este esto estos estoy estuve estuvo fue fueron
fui fuimos ha habeis haber habia habian habias han has hasta hay haya hayan he hemos hube
hubo la las le les lo los mas me mi mia mias mientras mio mios mis misma mismo muy nada ni
no nos nosotras nosotros nuestra nuestras nuestro nuestros o os otra otras otro otros para
pero poco por porque que quien quienes se sea sean ser sera seria si sido siendo sin sobre
sois solo somos son soy su sus suya suyas suyo suyos tambien tanto te tendra tenemos tener
tengo tenia tenian ti tiene tienen toda todas todo todos tu tus tuve tuvo tuya tuyo un una
uno unos usted ustedes vosotras vosotros vuestra vuestro y ya yo
quiero quieres quiere necesito necesita puedo puedes pongo hago hacer haces hola buenas
buenos gracias porfa favor vale saludos
"""

_EN_STOPWORDS = """
a about above after again against all am an and any are aren as at be because been before
being below between both but by can cant could couldn d did didn do does doesn doesnt doing
don dont down during each few for from further had hadn has hasn have haven having he her
here hers herself him himself his how i if im in into is isn isnt it its itself ive just ll
m me mightn more most must mustn my myself needn no nor not now of off on once only or
other our ours ourselves out over own re s same shan she should shouldn so some such t than
that the their theirs them themselves then there these they this those through to too under
until up ve very was wasn we were weren what when where which while who whom why will with
won wont would wouldn you your yours yourself yourselves
need needs want wants please pls plz hi hello hey thanks thank thx
"""

#: Function words per language, accent-folded, plus the filler of support chats ("quiero",
#: "necesito", "please"); the knowledge index drops them from articles and queries.
STOPWORDS: Final[Mapping[str, frozenset[str]]] = {
    "es": frozenset(_ES_STOPWORDS.split()),
    "en": frozenset(_EN_STOPWORDS.split()),
}

# Support-chat words that give a language away, slang and frequent typos included.
_ES_CUES = """
hola buenas buenos dias tardes noches gracias ayuda ayudame ayudar ayudenme necesito
nesecito nesesito quiero puedo puede pueden funciona funcionan funcione anda va van vez
conecta conectar conecto conectado conexion navega navegar pagina pague pagar pago pagado
cuenta clave contrasena aplicacion descargar descargo instalar instale renovar suscripcion
lento lenta rapido rapida cae caida caido servidor ahora hoy ayer siempre nunca todavia
cuanto cuesta precio xq pq q k tmb tb porfa favor vale bueno mala malo bien problema
problemas telefono celular movil ordenador computadora abrir abre cerrar sale salir pone
dice hacer hago hace sirve tarda tarde carga cargan desconecta activar activo puesta
puesto mucha mucho otra vez llega cobro cobraron reembolso devolucion gratis prueba dia
semana mes meses
"""

_EN_CUES = """
hello hi hey thanks thank thx ty please pls plz help need want works working work worked
connect connecting connected connection browse browsing page pay paid payment account
password download install installed renew subscription slow fast drops dropped dropping
server also today yesterday always never still much cost price why good bad well problem
problems phone mobile computer open close says make get got keeps stuck does issue issues
doesn't won't can't i'm refund free trial day week month months u ur r anymore anything
nothing something again
"""

_ES_WORDS = frozenset(_ES_CUES.split()) | STOPWORDS["es"]
_EN_WORDS = frozenset(_EN_CUES.split()) | STOPWORDS["en"]
# Product names and tech words customers use in either language.
_NEUTRAL_WORDS = """
wireguard outline windows android iphone ipad macos mac linux ubuntu chromebook telegram
whatsapp instagram netflix youtube tiktok spotify wifi vpn dns ip ipv6 internet app apps
ok okay bot usipipo sip wg shadowsocks router handshake tunnel qr conf key ss ssconf
"""
_NEUTRAL = frozenset(_NEUTRAL_WORDS.split())
# Words both languages use ("no", "a", "me", "he"...) say nothing either.
_SHARED = (_ES_WORDS & _EN_WORDS) | _NEUTRAL
_ES_ONLY = _ES_WORDS - _SHARED
_EN_ONLY = _EN_WORDS - _SHARED

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_ACCENTED = re.compile(r"[áéíóúü]")
_CONTRACTION = re.compile(r"[a-z](?:n't|'s|'m|'re|'ve|'ll|'d)\b")
_ES_ENDINGS = ("cion", "ciones", "mente", "ando", "iendo", "idad", "amos", "emos", "imos",
               "arme", "erme", "irme", "ado", "ada", "ados", "adas")
# Spanish words seldom end in two consonants; English ones often do.
_EN_ENDINGS = ("ing", "tion", "tions", "ed", "ly", "ness", "ful", "less", "ght", "ck", "sh",
               "th", "ow", "ll", "st", "nd", "rd", "rt", "ss", "nt", "ct", "lk", "rk")
_EN_LETTERS = re.compile(r"w|k|th|sh|wh|ee|oo|ea")

_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|«[^»]*»|`[^`]*`")
_QUOTE_INTRO = re.compile(r"\b(?:me|le|te|nos)\s+(?:dice|dijo|sale|salio|aparece|pone|salta|"
                          r"muestra|tira|marca)\b|\bdice que\b")
_QUOTE_INTRO_WEIGHT = 2.5
_WORD_WEIGHT = 1.0
_MARK_WEIGHT = 2.0  # ¿ ¡ ñ: nearly certain
_ACCENT_WEIGHT = 1.0
_CONTRACTION_WEIGHT = 1.5
_ENDING_WEIGHT = 0.5
_LETTER_WEIGHT = 0.3


def detect_language(text: str, default: str = "es") -> str:
    """Return ``"es"`` or ``"en"``: the language `text` is most likely written in.

    Empty, neutral or evenly split texts return `default` (``"es"`` unless told).
    """
    lowered = text.casefold()
    unquoted = _QUOTED.sub(" ", lowered)
    if unquoted.strip():
        lowered = unquoted
    folded = fold(lowered)
    intro = _QUOTE_INTRO.search(folded)
    es = 0.0
    if intro is not None:
        # What follows "me dice" / "me sale" is what the screen says, not the customer.
        es += _QUOTE_INTRO_WEIGHT
        if len(folded) == len(lowered):  # folding kept offsets (it does for Latin text)
            lowered = lowered[:intro.end()]
    es += _MARK_WEIGHT * sum(lowered.count(mark) for mark in "¿¡ñ")
    es += _ACCENT_WEIGHT * sum(1 for word in lowered.split() if _ACCENTED.search(word))
    en = _CONTRACTION_WEIGHT * len(_CONTRACTION.findall(lowered.replace("’", "'")))
    for word in _WORD.findall(fold(lowered).replace("’", "'")):
        bare = word.replace("'", "")
        if word in _ES_ONLY or bare in _ES_ONLY:
            es += _WORD_WEIGHT
        elif word in _EN_ONLY or bare in _EN_ONLY:
            en += _WORD_WEIGHT
        elif len(bare) >= 4 and bare not in _SHARED:
            es += _ENDING_WEIGHT * bare.endswith(_ES_ENDINGS)
            en += _ENDING_WEIGHT * bare.endswith(_EN_ENDINGS)
            en += _LETTER_WEIGHT * min(2, len(_EN_LETTERS.findall(bare)))
            # Spanish nouns and verbs end in -a/-o far more often than English words do.
            es += _LETTER_WEIGHT * (bare[-1] in "ao")
    if es > en:
        return "es"
    if en > es:
        return "en"
    return default if default in ("es", "en") else "es"
