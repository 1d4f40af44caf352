"""Language detection on the kind of short, messy messages customers send."""

from __future__ import annotations

import pytest

from sipai.text import STOPWORDS, detect_language, fold

SPANISH = [
    "hola", "ayuda", "no funciona", "wireguard no conecta", "mi vpn no va", "q hago",
    "pq no me conecta", "porfa ayudame", "como pago", "Necesito ayuda con WireGuard",
    "la app no abre", "sin internet", "tengo problemas", "fuga de DNS", "conexion lenta",
    "¿cómo configuro outline?", "se cae la vpn", "nesecito reembolso",
    "mi wireguard no connecta", "internet no va", "Gracias!!", "vpn puesta y no navega",
    "conectado pero sin internet", "cuanto cuesta", "cambiar de servidor",
    "instalar en iphone", "NO ME CONECTA", "k pasa con el server", "xq se desconecta",
    # Spanish speakers quote English error messages and buttons
    "windows me dice Unable to create network adapter",
    "wg-quick up me dice resolvconf: command not found",
    'me sale "Handshake did not complete after 5 seconds"',
    "le doy activate y se vuelve a poner inactive",
]

ENGLISH = [
    "hi", "help", "not working", "wireguard not connecting", "my vpn dont work", "thx",
    "plz help", "how do i pay", "I need help with WireGuard", "the app won't open",
    "problems with DNS", "DNS leak", "slow connection", "vpn keeps dropping", "refund",
    "It works!", "connected but no internet", "how much is it", "change server",
    "install on iphone", "handshake did not complete", "switching from wifi to 4g kills it",
    "Another tunnel already exists with the name usipipo", "cant connect pls",
    'it says "no hay conexion"',
]


@pytest.mark.parametrize("text", SPANISH)
def test_spanish_messages(text: str) -> None:
    assert detect_language(text, default="en") == "es"


@pytest.mark.parametrize("text", ENGLISH)
def test_english_messages(text: str) -> None:
    assert detect_language(text, default="es") == "en"


@pytest.mark.parametrize("text", ["", "   ", "ok", "vpn", "no internet", "wireguard", "😀", "123"])
def test_neutral_texts_return_the_default(text: str) -> None:
    assert detect_language(text) == "es"
    assert detect_language(text, default="en") == "en"


def test_unknown_default_falls_back_to_spanish() -> None:
    assert detect_language("ok", default="fr") == "es"


def test_spanish_punctuation_and_letters_are_strong_cues() -> None:
    assert detect_language("¿wifi?", default="en") == "es"
    assert detect_language("año", default="en") == "es"


def test_fold_strips_accents_and_case() -> None:
    assert fold("Conexión ÑANDÚ Über") == "conexion nandu uber"


def test_stopwords_are_folded_and_per_language() -> None:
    assert "tambien" in STOPWORDS["es"]
    assert "también" not in STOPWORDS["es"]
    assert "the" in STOPWORDS["en"] and "the" not in STOPWORDS["es"]
