"""The LLM providers mem0 users name, mapped onto one OpenAI-compatible code path.

Each vendor with an OpenAI-compatible chat endpoint is a row here (base URL, the env var
holding its key, the mem0 option that overrides the URL), so retries, JSON mode and usage
stay in :class:`~mnemoweave.llm.LLMClient`. Azure needs the SDK's ``AzureOpenAI`` client
(deployment paths, ``api-version``, ``api-key`` header); LiteLLM and LangChain objects get
small wrappers with the same ``complete`` / ``acomplete`` surface.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROVIDERS", "Provider", "provider_names"]


@dataclass(frozen=True)
class Provider:
    """One OpenAI-compatible vendor: where its API lives and where its key comes from."""

    base_url: str | None
    key_env: tuple[str, ...]
    url_key: str | None = None
    local: bool = False


PROVIDERS: dict[str, Provider] = {
    "openai": Provider(None, ("OPENAI_API_KEY",), "openai_base_url"),
    "openai_compatible": Provider(None, ("OPENAI_API_KEY",), "openai_base_url"),
    "anthropic": Provider("https://api.anthropic.com/v1", ("ANTHROPIC_API_KEY",)),
    "gemini": Provider(
        "https://generativelanguage.googleapis.com/v1beta/openai",
        ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    ),
    "groq": Provider("https://api.groq.com/openai/v1", ("GROQ_API_KEY",)),
    "together": Provider("https://api.together.xyz/v1", ("TOGETHER_API_KEY",)),
    "deepseek": Provider("https://api.deepseek.com/v1", ("DEEPSEEK_API_KEY",), "deepseek_base_url"),
    "xai": Provider("https://api.x.ai/v1", ("XAI_API_KEY",), "xai_base_url"),
    "mistral": Provider("https://api.mistral.ai/v1", ("MISTRAL_API_KEY",)),
    "openrouter": Provider(
        "https://openrouter.ai/api/v1", ("OPENROUTER_API_KEY",), "openrouter_base_url"
    ),
    "ollama": Provider("http://localhost:11434/v1", (), "ollama_base_url", local=True),
    "lmstudio": Provider("http://localhost:1234/v1", (), "lmstudio_base_url", local=True),
    "vllm": Provider("http://localhost:8000/v1", (), "vllm_base_url", local=True),
}
"""OpenAI-compatible providers by mem0 name; ``azure_openai``, ``litellm``, ``aws_bedrock``
and ``langchain`` are built separately (see :func:`mnemoweave.llm.build_llm`)."""

SPECIAL = ("aws_bedrock", "azure_openai", "langchain", "litellm")


def provider_names() -> list[str]:
    """Every LLM provider name a config may use, sorted."""
    return sorted([*PROVIDERS, *SPECIAL])
