"""OpenAI wire shapes: the JSON bodies the scripted server answers with.

Only the fields the official SDK and common clients read are produced; values that would
vary between runs (ids) are derived from the request index so recordings stay stable.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["chat_completion", "embedding_list", "error_body", "model_list"]

OWNER = "mnemoweave-testing"


def error_body(
    message: str, error_type: str, *, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """OpenAI's error envelope, which the SDK turns into ``APIStatusError.message``/``.body``."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def chat_completion(
    *,
    index: int,
    model: str,
    content: str,
    finish_reason: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` object with one choice and usage."""
    return {
        "id": f"chatcmpl-scripted-{index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_mnemoweave_scripted",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def embedding_list(
    vectors: Sequence[Sequence[float]] | np.ndarray,
    *,
    model: str,
    encoding_format: str,
    prompt_tokens: int,
) -> dict[str, Any]:
    """An embeddings ``list``; ``base64`` packs each vector as little-endian float32."""
    data: list[dict[str, Any]] = []
    for i, vector in enumerate(vectors):
        arr = np.asarray(vector, dtype="<f4")
        encoded: Any
        if encoding_format == "base64":
            encoded = base64.b64encode(arr.tobytes()).decode("ascii")
        else:
            encoded = [float(x) for x in arr]
        data.append({"object": "embedding", "index": i, "embedding": encoded})
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def model_list(models: Sequence[str]) -> dict[str, Any]:
    """``GET /models``: the models the server claims to serve."""
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": 0, "owned_by": OWNER} for m in models],
    }
