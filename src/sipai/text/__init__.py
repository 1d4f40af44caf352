"""Text utilities shared by Sip's layers: language detection and accent folding."""

from sipai.text.language import STOPWORDS, detect_language, fold

__all__ = ["STOPWORDS", "detect_language", "fold"]
