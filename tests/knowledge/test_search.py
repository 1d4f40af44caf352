"""Searching: ranking, language preference, twins, chunking and the match share."""

from __future__ import annotations

from pathlib import Path

from sipai.knowledge import KnowledgeBase
from sipai.knowledge.chunking import FIELD_WEIGHTS, chunk_article, chunk_terms

from .conftest import ARTICLES, ArticleWriter, article_text


def test_chunks_are_intro_then_one_per_section(kb: KnowledgeBase) -> None:
    article = kb.article("wg-no-internet-es")
    assert article is not None
    chunks = chunk_article(article)
    assert [c.section for c in chunks] == ["", "Comprueba el handshake", "Cambia el DNS",
                                           "Revisa la fecha y la hora", "Si sigue sin funcionar"]
    assert [c.position for c in chunks] == [0, 1, 2, 3, 4]
    assert chunks[0].text.startswith("Si WireGuard dice")
    assert chunks[2].text.startswith("1. Edita el túnel")
    assert all(c.title == article.title and c.topic == "wg-no-internet" for c in chunks)


def test_title_words_weigh_more_than_body_words(kb: KnowledgeBase) -> None:
    article = kb.article("vpn-slow-es")
    assert article is not None
    intro = chunk_article(article)[0]
    tf, length = chunk_terms(intro)
    assert tf["lent"] >= FIELD_WEIGHTS["title"]  # "lenta" in the title
    assert tf["veloc"] >= FIELD_WEIGHTS["tags"]  # "velocidad" in the tags
    assert length == sum(tf.values())


def test_finds_the_article_and_its_best_section(kb: KnowledgeBase) -> None:
    best = kb.search("donde escaneo el codigo qr", k=3)[0]
    assert (best.article_id, best.section, best.language) == (
        "wg-install-es", "Android e iPhone", "es")
    assert "Escanea el código QR" in best.text
    assert best.url == "https://help.example.com/es/wireguard"
    assert 0.0 < best.match <= 1.0 and best.score > 0


def test_accents_case_and_typos_do_not_matter(kb: KnowledgeBase) -> None:
    for query in ("configuración del DNS en el túnel", "configuracion del dns en el tunel",
                  "CONFIGURACION DEL DNS EN EL TUNEL"):
        assert kb.search(query, k=1)[0].article_id == "wg-no-internet-es"
    assert kb.search("wiregard conectado pero no navega", k=1)[0].article_id == \
        "wg-no-internet-es"


def test_prefers_the_users_language(kb: KnowledgeBase) -> None:
    assert kb.search("la vpn va muy lenta", k=1)[0].article_id == "vpn-slow-es"
    assert kb.search("the vpn is really slow", k=1)[0].article_id == "vpn-slow-en"
    # an explicit language wins over detection, and the twin takes the slot
    assert kb.search("MTU 1280", k=1, language="en")[0].article_id == "vpn-slow-en"
    assert kb.search("MTU 1280", k=1, language="es")[0].article_id == "vpn-slow-es"


def test_a_topic_takes_one_slot_in_one_language(kb: KnowledgeBase) -> None:
    results = kb.search("wireguard", k=12, language="es")
    topics = [kb.article(p.article_id).topic for p in results]  # type: ignore[union-attr]
    assert len(topics) == len(set(topics))
    assert {p.language for p in results} == {"es"}


def test_one_passage_per_article_unless_asked(kb: KnowledgeBase) -> None:
    one = kb.search("wireguard dns handshake hora", k=5)
    assert len({p.article_id for p in one}) == len(one)
    two = kb.search("wireguard dns handshake hora", k=5, per_article=2)
    assert [p.article_id for p in two[:2]] == ["wg-no-internet-es"] * 2
    assert two[0].section != two[1].section


def test_falls_back_to_the_other_language(write_article: ArticleWriter, tmp_path: Path) -> None:
    operator = tmp_path / "operator"
    write_article(operator, "router.md", article_text(
        "router-en", "Configure your router for the VPN", "en",
        intro="Port forwarding on a Mikrotik router.",
        body="## Steps\n1. Open the Mikrotik panel.\n"))
    kb = KnowledgeBase.load(None, operator, bundled=ARTICLES)
    results = kb.search("como configuro el mikrotik", k=3)
    assert results[0].article_id == "router-en" and results[0].language == "en"


def test_nothing_for_empty_or_unknown_queries(kb: KnowledgeBase) -> None:
    assert kb.search("", k=3) == []
    assert kb.search("   ", k=3) == []
    assert kb.search("la vpn", k=0) == []
    assert kb.search("receta de paella valenciana", k=3) == []


def test_match_separates_answerable_from_off_topic(kb: KnowledgeBase) -> None:
    good = kb.search("pague y no se activo", k=1)[0]
    assert good.match >= 0.9
    weak = kb.search("mi gato no come su comida de pescado con la vpn", k=1)
    assert not weak or weak[0].match < 0.5


def test_in_memory_knowledge_base_from_articles(kb: KnowledgeBase) -> None:
    copy = KnowledgeBase.from_articles(kb.articles())
    assert copy.version == kb.version
    assert [p.article_id for p in copy.search("me cobraron dos veces")] == \
        [p.article_id for p in kb.search("me cobraron dos veces")]


def test_naming_one_app_demotes_articles_about_only_the_other() -> None:
    from sipai.knowledge.chunking import Chunk
    from sipai.knowledge.retriever import OTHER_PRODUCT_FACTOR, named_products, product_factor

    def chunk(*tags: str) -> Chunk:
        return Chunk("a", "a", "es", "t", "", 0, "x", tags=tags)

    assert named_products("mi WireGuard no conecta") == {"wireguard"}
    assert named_products("wg o Outline?") == {"wireguard", "outline"}
    assert named_products("la vpn no conecta") == frozenset()
    named = named_products("wireguard no conecta")
    assert product_factor(chunk("outline", "no-conecta"), named) == OTHER_PRODUCT_FACTOR
    assert product_factor(chunk("wireguard", "outline"), named) == 1.0  # about both
    assert product_factor(chunk("pagos"), named) == 1.0  # about neither
    assert product_factor(chunk("outline"), frozenset()) == 1.0  # nothing named
