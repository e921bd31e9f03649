#!/usr/bin/env bash
# Create bench/.venvs/mem0: an isolated Python 3.11 venv holding mem0ai for the side-by-side
# benchmark. mem0 must never enter mnemoweave's own environment or pyproject, so it lives here
# and is driven in a subprocess by bench/_mem0_client.py -> bench/_mem0_worker.py.
#
# Idempotent: re-running reuses the venv and only installs what is missing or at the wrong
# version. Packages come from pip's configured index/mirror (no other network access needed).
#
# Usage: bash bench/setup_mem0.sh            (from the repo root or anywhere)
#        PYTHON=/path/to/python3.11 bash bench/setup_mem0.sh
set -euo pipefail

MEM0_VERSION="2.0.18"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${HERE}/.venvs/mem0"
PYTHON="${PYTHON:-python3.11}"

# What a user needs for "FAISS vector store + custom embedder + OpenAI-compatible LLM":
#   mem0ai        the library (its core deps already pull openai, posthog, qdrant-client, sqlalchemy)
#   faiss-cpu     mem0's FAISS vector store imports it lazily; not a core dependency of mem0ai
#   numpy         used by the FAISS store and by our worker's fallback hash embedder
#   langchain, langchain-core
#                 mem0's documented way to plug an arbitrary embedder is its "langchain" embedder
#                 provider, which accepts any langchain `Embeddings` instance; its module imports
#                 `langchain.embeddings.base`. Pinned to mem0ai's own `extras` ranges.
# The "openai" LLM provider uses the openai SDK, already a core dependency. spaCy (mem0ai[nlp])
# is deliberately NOT installed: see bench/MEM0_NOTES.md ("spaCy").
PACKAGES=(
    "mem0ai==${MEM0_VERSION}"
    "faiss-cpu"
    "numpy"
    "langchain>=0.3.30,<1.0.0"
    "langchain-core>=0.3.85,<1.0.0"
)

if ! command -v "${PYTHON}" >/dev/null 2>&1; then
    echo "setup_mem0: ${PYTHON} not found; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if ! "${PYTHON}" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
    echo "setup_mem0: ${PYTHON} is not Python 3.11 ($("${PYTHON}" --version 2>&1))" >&2
    exit 1
fi

if [[ ! -x "${VENV}/bin/python" ]]; then
    echo "setup_mem0: creating ${VENV}"
    mkdir -p "$(dirname "${VENV}")"
    "${PYTHON}" -m venv "${VENV}"
else
    echo "setup_mem0: reusing ${VENV}"
fi

# Skip pip entirely when everything is already installed at the pinned version. Checked from
# package metadata only: importing mem0 would create ~/.mem0 in the real home directory.
if "${VENV}/bin/python" - "${MEM0_VERSION}" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
for dist in ("faiss-cpu", "numpy", "langchain", "langchain-core"):
    version(dist)
sys.exit(0 if version("mem0ai") == sys.argv[1] else 1)
EOF
then
    echo "setup_mem0: already installed"
else
    echo "setup_mem0: installing ${PACKAGES[*]}"
    # The local find-links mirrors print one "Location ... is ignored" warning per package; drop
    # only those lines so real errors stay visible.
    "${VENV}/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
fi

echo "setup_mem0: installed in ${VENV}:"
"${VENV}/bin/python" - <<'EOF'
from importlib.metadata import version
for dist in ("mem0ai", "faiss-cpu", "numpy", "langchain", "langchain-core", "openai", "posthog",
             "pydantic", "spacy"):
    try:
        print(f"  {dist}=={version(dist)}")
    except Exception:  # noqa: BLE001 - a missing optional dist is just reported
        print(f"  {dist}: not installed")
EOF
