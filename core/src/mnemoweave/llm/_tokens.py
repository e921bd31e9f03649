"""Token counts for memory-block budgets: tiktoken when it is usable offline, else an estimate.

Callers whose framework has a counter pass it on (LlamaIndex's tokenizer, a LangChain
model's ``get_num_tokens``). Otherwise :func:`count_tokens` uses tiktoken's ``cl100k_base``
when tiktoken is installed *and* its encoding file is already in tiktoken's cache
(``TIKTOKEN_CACHE_DIR``, which llama-index-core points at the copy it bundles): it never
downloads anything and never writes a cache file. Failing that, :func:`approx_tokens`
estimates conservatively, counting CJK characters one by one (whole runs of them are a
single "word" to a word splitter, which undercounted Chinese about tenfold).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import tempfile
from collections.abc import Callable

_ENCODING = "cl100k_base"
_ENCODING_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"

_PIECE = re.compile(r"\w+|[^\w\s]", re.UNICODE)
#: CJK ideographs, kana, CJK punctuation and full-width forms: about 1.5 cl100k tokens each.
_WIDE = re.compile(
    r"[\u2e80-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
)
#: Hangul syllables and jamo: about 1.2 tokens each.
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")


def approx_tokens(text: str) -> int:
    """A deterministic, conservative estimate of cl100k tokens (never below the word count).

    ASCII words count one token per five characters (at least one), other words one per
    2.5 UTF-8 bytes, punctuation one each, CJK characters 1.5 and Hangul 1.2 each.
    """
    wide = len(_WIDE.findall(text))
    hangul = len(_HANGUL.findall(text))
    rest = _HANGUL.sub(" ", _WIDE.sub(" ", text))
    total = 1.5 * wide + 1.2 * hangul
    for piece in _PIECE.findall(rest):
        if piece.isascii():
            total += max(1, math.ceil(len(piece) / 5))
        else:
            total += max(1, math.ceil(len(piece.encode("utf-8")) / 2.5))
    return math.ceil(total)


def _cache_dir() -> str:
    """Where tiktoken itself looks for cached encodings (its own order of variables)."""
    for name in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if name in os.environ:
            return os.environ[name]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


@functools.lru_cache(maxsize=8)
def _encoder(cache_dir: str) -> Callable[[str], int] | None:
    try:
        import tiktoken
    except ImportError:
        return None
    key = hashlib.sha1(_ENCODING_URL.encode()).hexdigest()
    if not cache_dir or not os.path.isfile(os.path.join(cache_dir, key)):
        return None  # tiktoken would download it: stay offline
    try:
        encoding = tiktoken.get_encoding(_ENCODING)
    except Exception:  # a corrupt cache file (tiktoken would re-fetch it)
        return None
    return lambda text: len(encoding.encode(text, disallowed_special=()))


def tiktoken_counter() -> Callable[[str], int] | None:
    """tiktoken's ``cl100k_base`` counter, or ``None`` when it cannot load offline."""
    return _encoder(_cache_dir())


def count_tokens(text: str) -> int:
    """Tokens in ``text``: tiktoken cl100k_base if usable offline, else :func:`approx_tokens`."""
    counter = tiktoken_counter()
    return counter(text) if counter is not None else approx_tokens(text)
