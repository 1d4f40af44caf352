"""The offline brain: readable answers from the knowledge base, in the user's language."""

from __future__ import annotations

from pathlib import Path

from sipai.knowledge import KnowledgeBase, compose_offline_answer
from sipai.knowledge.offline import MAX_STEPS

from .conftest import ARTICLES, ArticleWriter, article_text


def answer(kb: KnowledgeBase, query: str, language: str):  # type: ignore[no-untyped-def]
    return compose_offline_answer(query, kb.search(query, k=3, language=language), language, kb)


def test_spanish_answer_has_title_intro_steps_and_human_offer(kb: KnowledgeBase) -> None:
    reply = answer(kb, "que DNS pongo en el tunel de wireguard", "es")
    assert reply.confident
    assert reply.sources == [("wg-no-internet-es", "WireGuard conecta pero no hay internet")]
    lines = reply.text.split("\n")
    assert lines[0] == "**WireGuard conecta pero no hay internet**" and lines[1] == ""
    assert lines[2].startswith("Si WireGuard dice «Conectado»") and lines[2].endswith("caducada.")
    assert "Cambia el DNS:" in lines
    steps = [line for line in lines if line[:2] in {"1.", "2.", "3.", "4."}]
    assert steps[0] == "1. Edita el túnel y busca la línea `DNS`."
    assert len(steps) == 4
    assert "asistente automático de Sip" in reply.text
    assert "/humano" in reply.text and "«hablar con una persona»" in reply.text


def test_english_answer_has_title_steps_and_human_offer(kb: KnowledgeBase) -> None:
    reply = answer(kb, "I paid but my plan is not active", "en")
    assert reply.confident
    assert reply.sources == [("payment-en", "Pay for or renew your subscription")]
    assert reply.text.startswith("**Pay for or renew your subscription**\n\nYou can pay")
    assert "I paid but it was not activated:" in reply.text
    assert "1. Wait 10 minutes" in reply.text and "3. If it did not change" in reply.text
    assert "Sip's automatic assistant" in reply.text
    assert "/human" in reply.text and "talk to a person" in reply.text


def test_answers_in_the_users_language_from_the_twin(kb: KnowledgeBase) -> None:
    # Spanish passages, an English-speaking customer: the English version is shown,
    # same section (by position).
    passages = kb.search("me cobraron dos veces", k=3, language="es")
    assert passages[0].article_id == "payment-es"
    reply = compose_offline_answer("me cobraron dos veces", passages, "en", kb)
    assert reply.sources == [("payment-en", "Pay for or renew your subscription")]
    assert "Refunds:" in reply.text and "duplicate charge" in reply.text
    assert "/human" in reply.text and "/humano" not in reply.text


def test_the_intro_passage_shows_the_first_section_with_steps(kb: KnowledgeBase) -> None:
    reply = compose_offline_answer("x", [p for p in kb.search("la vpn va muy lenta", k=1)],
                                   "es", kb)
    assert "Elige un servidor más cercano:" in reply.text
    assert "1. En el bot, envía /servers" in reply.text


def test_nothing_matching_gives_an_honest_answer(kb: KnowledgeBase) -> None:
    for query, language, words in [("receta de paella valenciana", "es", "No tengo un artículo"),
                                   ("what is the capital of France", "en", "I don't have")]:
        reply = answer(kb, query, language)
        assert not reply.confident and reply.sources == []
        assert reply.text.startswith(words)
        assert ("/humano" if language == "es" else "/human") in reply.text
    empty = compose_offline_answer("hola", [], "es", kb)
    assert not empty.confident and "/humano" in empty.text


def test_a_weak_match_is_named_but_not_answered(kb: KnowledgeBase) -> None:
    passages = kb.search("outline", k=1, language="en")
    weak = [type(passages[0])(**{**passages[0].__dict__, "match": 0.3})]
    reply = compose_offline_answer("outline", weak, "en", kb)
    assert not reply.confident
    assert 'The closest one I found is "Connect with Outline".' in reply.text
    assert reply.sources == [("outline-en", "Connect with Outline")]


def test_long_lists_are_cut_with_a_pointer(tmp_path: Path, write_article: ArticleWriter) -> None:
    steps = "\n".join(f"{n}. Paso número {n} del router." for n in range(1, 10))
    write_article(tmp_path, "router.md", article_text(
        "router-es", "Configurar el router", "es", intro="Primero esto. Luego lo otro.",
        body=f"## Pasos del router\n{steps}\n", extra="url: https://x.example/router\n"))
    kb = KnowledgeBase.load(None, tmp_path, bundled=ARTICLES)
    reply = answer(kb, "configurar el router", "es")
    assert reply.confident
    assert "Primero esto." in reply.text and "Luego lo otro" not in reply.text
    assert f"{MAX_STEPS}. Paso número {MAX_STEPS} del router." in reply.text
    assert f"{MAX_STEPS + 1}. " not in reply.text
    assert "(…y 3 pasos más en el artículo completo.)" in reply.text
    assert "Más información: https://x.example/router" in reply.text


def test_wrapped_and_bulleted_steps(tmp_path: Path, write_article: ArticleWriter) -> None:
    body = ("## Steps\n- Open the app\n  and tap the tunnel.\n- Press connect.\n\n"
            "After that, it works.\n")
    write_article(tmp_path, "bullets.md", article_text("bullets-en", "Bullet guide", "en",
                                                       intro="Use bullets.", body=body))
    kb = KnowledgeBase.load(None, tmp_path, bundled=ARTICLES)
    reply = answer(kb, "bullet guide", "en")
    assert "1. Open the app and tap the tunnel.\n2. Press connect." in reply.text
    assert "After that" not in reply.text


def test_a_matched_list_of_symptoms_shows_the_steps_instead(
        tmp_path: Path, write_article: ArticleWriter) -> None:
    body = ("## Symptoms\n- The tunnel dies when the screen is off.\n- Notifications stop.\n\n"
            "## Why\nRouters forget idle connections.\n\n"
            "## Steps\n1. Edit the tunnel.\n2. Set PersistentKeepalive = 25.\n")
    write_article(tmp_path, "idle.md", article_text("idle-en", "The tunnel dies when idle", "en",
                                                    intro="Keepalive fixes it.", body=body))
    kb = KnowledgeBase.load(None, tmp_path, bundled=ARTICLES)
    reply = answer(kb, "tunnel dies when the screen is off, notifications stop", "en")
    assert reply.sources == [("idle-en", "The tunnel dies when idle")]
    assert "Steps:\n1. Edit the tunnel.\n2. Set PersistentKeepalive = 25." in reply.text
    assert "Symptoms" not in reply.text
    why = answer(kb, "why do routers forget idle connections", "en")
    assert "Why:\nRouters forget idle connections." in why.text  # prose answers directly
