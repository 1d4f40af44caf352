"""Excerpts: texts shortened to a token allowance keep their structure and say they are cut."""

from __future__ import annotations

from sipai.knowledge.excerpt import ELLIPSIS, excerpt, head
from sipai.llm.tokens import TokenCounter

COUNT = TokenCounter().count
STEPS = ("1. Abre la app WireGuard. Toca el túnel para ver sus detalles y el último saludo.\n"
         "2. Desactiva el ahorro de batería. En Xiaomi está en Ajustes > Batería > Apps.\n"
         "3. Activa el inicio automático. Así Android no cierra el túnel al apagar la pantalla.\n"
         "4. Reinicia el teléfono. Luego enciende el túnel y apaga la pantalla un minuto.")


def test_a_text_that_fits_is_returned_whole() -> None:
    assert excerpt(STEPS, 1000, COUNT) == STEPS
    assert head("  corto  ", 10, COUNT) == "corto"


def test_an_outline_keeps_every_step_and_numbers_do_not_end_sentences() -> None:
    short = excerpt(STEPS, 40, COUNT)
    assert COUNT(short) <= 40 and short.endswith(ELLIPSIS)
    for step in ("1. Abre la app WireGuard.", "2. Desactiva el ahorro de batería.",
                 "3. Activa el inicio automático.", "4. Reinicia el teléfono."):
        assert step in short
    assert "Ajustes > Batería" not in short


def test_spare_room_gives_whole_lines_back_in_order() -> None:
    outline = excerpt(STEPS, 40, COUNT)
    roomier = excerpt(STEPS, 62, COUNT)
    assert len(roomier) > len(outline)
    assert roomier.splitlines()[0] == STEPS.splitlines()[0]
    assert COUNT(roomier) <= 62


def test_a_paragraph_is_cut_at_a_sentence_end() -> None:
    text = ("WireGuard solo usa UDP y sus paquetes se reconocen con facilidad. Muchas redes de "
            "hoteles bloquean el UDP. En algunos países los operadores bloquean WireGuard. "
            "No es un fallo de tu app ni de tu clave.")
    cut = head(text, 30, COUNT)
    assert cut.endswith("." + ELLIPSIS) and text.startswith(cut[:-1]) and COUNT(cut) <= 30


def test_nothing_fits_gives_an_empty_string() -> None:
    assert head("Supercalifragilisticoespialidoso " * 5, 1, COUNT) == ""


def test_every_allowance_keeps_every_step_and_fits() -> None:
    previous = ""
    for tokens in range(40, COUNT(STEPS)):
        short = excerpt(STEPS, tokens, COUNT)
        assert COUNT(short) <= tokens
        assert all(f"{n}. " in short for n in range(1, 5))
        assert len(short) >= len(previous)  # more room never gives less text
        previous = short


def test_an_outline_too_long_is_cut_not_the_text() -> None:
    long_steps = "\n".join(f"{n}. Haz el paso {n}. Después espera un minuto y revisa el icono."
                           for n in range(1, 13))
    short = excerpt(long_steps, 40, COUNT)
    assert COUNT(short) <= 40 and short.endswith(ELLIPSIS)
    assert short.startswith("1. Haz el paso 1.\n2. Haz el paso 2.\n")
    assert "Después" not in short  # each kept step is its action only
    assert short.count("\n") > head(long_steps, 40, COUNT).count("\n")
