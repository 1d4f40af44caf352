"""Sip's knowledge layer: articles, retrieval and the offline brain.

Bundled articles ship in ``articles/{es,en}/*.md``; operators add or override articles
in ``SIP_KB_DIR``. :class:`KnowledgeBase` indexes them (BM25 per language, persisted and
re-processed incrementally) and searches them; :func:`compose_offline_answer` turns the
best passages into a reply when no model is available.
"""

from sipai.knowledge.articles import Article, ArticleError, Section, parse_article
from sipai.knowledge.base import KnowledgeBase, Passage, ReindexReport
from sipai.knowledge.offline import OfflineAnswer, compose_offline_answer

__all__ = [
    "Article", "ArticleError", "KnowledgeBase", "OfflineAnswer", "Passage", "ReindexReport",
    "Section", "compose_offline_answer", "parse_article",
]
