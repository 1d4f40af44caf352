"""Turning text into terms: accents, case, stemming, stopwords, compounds, typos."""

from __future__ import annotations

import pytest

from sipai.knowledge.analysis import PHRASE_WEIGHT, analyzer
from sipai.knowledge.synonyms import EXPANSION_WEIGHT, expansions
from sipai.knowledge.typos import TypoIndex, edit_distance


def terms(language: str, text: str) -> list[str]:
    return analyzer(language).terms(text)


@pytest.mark.parametrize("words", [
    ["conexión", "conexion", "CONEXIÓN", "conectar", "conecta", "conectado"],
    ["configuración", "configuracion", "configurar", "configuro"],
    ["instalación", "instalacion", "instalar"],
    ["suscripción", "suscripcion", "suscribirse"],
    ["contraseña", "contrasena"],
])
def test_spanish_variants_share_one_term(words: list[str]) -> None:
    assert len({tuple(terms("es", word)) for word in words}) == 1


@pytest.mark.parametrize("words", [
    ["connection", "connect", "connected", "connecting", "Connects"],
    ["subscription", "subscribe", "subscribed"],
    ["install", "installing", "installed"],
])
def test_english_variants_share_one_term(words: list[str]) -> None:
    assert len({tuple(terms("en", word)) for word in words}) == 1


def test_stopwords_are_dropped() -> None:
    assert terms("es", "el de la que con por para") == []
    assert terms("en", "the of and with doesn't") == []
    assert terms("es", "la VPN no navega") == ["vpn", "naveg"]


def test_compounds_give_parts_and_the_whole() -> None:
    assert terms("en", "wg-quick") == ["wg-quick", "wg", "quick"]
    assert "1-1-1-1" in terms("es", "DNS = 1.1.1.1")
    assert terms("es", "clave-de-acceso")[0] == "clav-de-acces"


def test_query_phrases_meet_tag_compounds() -> None:
    weights = analyzer("es").query_terms("qué es la clave de acceso", expand=False)
    assert weights["clav"] == 1.0
    assert weights["clav-de-acces"] == PHRASE_WEIGHT
    assert weights["que-es"] == PHRASE_WEIGHT


def test_slang_expands_at_a_lower_weight() -> None:
    assert expansions("WireGuard dice conectado pero no navega", "es")
    weights = analyzer("es").query_terms("no navega")
    assert weights["naveg"] == 1.0 and weights["internet"] == EXPANSION_WEIGHT
    assert "internet" not in analyzer("es").query_terms("no navega", expand=False)
    assert analyzer("en").query_terms("vpn keeps dropping")["disconnect"] == EXPANSION_WEIGHT


def test_edit_distance_counts_swaps_as_one() -> None:
    assert edit_distance("wiregard", "wireguard") == 1
    assert edit_distance("conexoin", "conexion") == 1
    assert edit_distance("abc", "xyz") == 3
    assert edit_distance("a", "abcdefgh", limit=2) == 3


def test_typo_index_corrects_long_words_only() -> None:
    index = TypoIndex(["wireguard", "conect", "reset", "outlin", "internet"],
                      {"conexion": "conect"})
    assert index.suggest("wiregard") == ["wireguard"]
    assert index.suggest("conecion") == ["conect"]  # via the alias's source form
    assert index.suggest("internt") == ["internet"]
    assert index.suggest("recet") == []  # five letters: never corrected
    assert index.suggest("xnternet") == []  # the first letter must agree


def test_slang_triggers_match_across_spanish_clitics() -> None:
    assert expansions("no me carga nada", "es") == ["sin conexión a internet navegar páginas"]
    assert expansions("se me cae la vpn", "es") == ["se desconecta caída estabilidad"]
    assert expansions("receta de paella", "es") == []
