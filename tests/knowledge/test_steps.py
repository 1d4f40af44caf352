"""The section a customer follows, and the grounding the prompt sends for the best article."""

from __future__ import annotations

from sipai.knowledge import KnowledgeBase, parse_article
from sipai.knowledge.steps import grounding, list_steps, pick_section

from .conftest import article_text

TROUBLESHOOTING = parse_article(article_text(
    "tunel-es", "El túnel se corta", "es",
    intro="Qué hacer cuando el túnel se corta solo. Pasa sobre todo en Android.",
    body=("## Síntomas\n- El icono de la llave desaparece.\n- Telegram se queda conectando.\n\n"
          "## Pasos\n1. Desactiva el ahorro de batería. Está en Ajustes.\n"
          "2. Activa el inicio automático.\n\n"
          "## Reembolsos\nSolo un operador puede devolver un pago.\n")))


def test_the_intro_and_the_symptoms_give_way_to_the_steps() -> None:
    for heading in ("", "Síntomas"):
        section = pick_section(TROUBLESHOOTING, TROUBLESHOOTING, heading)
        assert section is not None and section.heading == "Pasos"
    assert grounding(TROUBLESHOOTING, "") == (
        "Qué hacer cuando el túnel se corta solo.\nPasos:\n"
        "1. Desactiva el ahorro de batería. Está en Ajustes.\n2. Activa el inicio automático.")
    assert grounding(TROUBLESHOOTING, "Síntomas") == grounding(TROUBLESHOOTING, "")


def test_steps_and_plain_prose_are_kept_when_they_matched() -> None:
    assert grounding(TROUBLESHOOTING, "Pasos").endswith("2. Activa el inicio automático.")
    refunds = grounding(TROUBLESHOOTING, "Reembolsos")
    assert refunds == ("Qué hacer cuando el túnel se corta solo.\nReembolsos:\n"
                       "Solo un operador puede devolver un pago.")


def test_an_article_without_sections_has_no_grounding() -> None:
    article = parse_article(article_text("solo-es", "Solo intro", "es", body=""))
    assert pick_section(article, article, "") is None and grounding(article, "") == ""


def test_steps_are_renumbered_and_counted() -> None:
    assert list_steps("1. Uno.\n3. Tres.\n7. Siete.", 2) == (["1. Uno.", "2. Tres."], 1)
    assert list_steps("Un párrafo.\n\nOtro.", 6) == (["Un párrafo."], 0)


def test_the_bundled_intro_passage_carries_its_steps() -> None:
    kb = KnowledgeBase.load(None, None)
    best = kb.search("wireguard conecta pero no tengo internet", k=1, language="es")[0]
    assert (best.article_id, best.section) == ("wg-no-internet-es", "")
    assert best.text.startswith("Qué hacer cuando WireGuard se conecta pero no navega")
    assert "\nPasos:\n1. Apaga y enciende el túnel" in best.grounding
    assert "6. Cierra otras VPN" in best.grounding and "Síntomas" not in best.grounding
