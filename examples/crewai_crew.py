"""Two CrewAI crews sharing long-term memory through mnemoweave, fully offline.

Crew 1 learns the user's favourite colour; crew 2, started later on the same store, finds
it in its task prompt (CrewAI recalls before every task). mnemoweave's LLM step (turning the
task result into a fact) talks to a scripted OpenAI-compatible server on 127.0.0.1, and the
crews' own model is a small scripted CrewAI LLM, so no API key or network is needed.

Run:  CREWAI_DISABLE_TELEMETRY=true OTEL_SDK_DISABLED=true CREWAI_TRACING_ENABLED=false \\
      python examples/crewai_crew.py

Data goes to $MNEMOWEAVE_HOME/crewai-example if MNEMOWEAVE_HOME is set, else to a temp dir.
For real models: give mnemoweave_memory(llm={"model": ..., "base_url": ..., "api_key": ...})
and the Agent llm="provider/model" (CrewAI's usual LLM string or object).
"""

from __future__ import annotations

import os

# CrewAI reads these when it is imported: telemetry off, no DNS lookups, no tracing.
for _name, _value in {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
}.items():
    os.environ.setdefault(_name, _value)

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from crewai import Agent, Crew, Task  # noqa: E402
from crewai.llms.base_llm import BaseLLM  # noqa: E402
from pydantic import Field  # noqa: E402

from mnemoweave.errors import MnemoweaveError  # noqa: E402
from mnemoweave.testing import ScriptedOpenAIServer  # noqa: E402
from mnemoweave_adapters import CLOSE_TAG, OPEN_TAG, unquote_block  # noqa: E402
from mnemoweave_crewai import mnemoweave_memory  # noqa: E402


class ScriptedCrewLLM(BaseLLM):
    """A stand-in for the crew's model: records its prompts, answers from recalled memories."""

    prompts: list[str] = Field(default_factory=list)

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        if isinstance(messages, str):
            prompt = messages
        else:
            prompt = "\n".join(str(m.get("content", "")) for m in messages)
        self.prompts.append(prompt)
        remembered = unquote_block(prompt)  # the memories CrewAI put in the task prompt
        if remembered:
            answer = f"Use a theme built on what I remember: {remembered[0]}."
        else:
            answer = "The user told me their favourite colour is teal."
        return f"Thought: I now know the final answer\nFinal Answer: {answer}"


def pick_embedder() -> str | dict[str, Any]:
    """The local model if its weights are already installed (never downloads), else "hash"."""
    from mnemoweave.embed import get_embedder

    local = {"provider": "local", "allow_download": False}
    try:
        get_embedder(local)
    except MnemoweaveError:
        return "hash"
    return local


def run_crew(memory: Any, llm: BaseLLM, task: str) -> str:
    agent = Agent(role="Designer", goal="Help the user", backstory="You design sites.", llm=llm)
    work = Task(description=task, expected_output="One sentence.", agent=agent)
    return Crew(agents=[agent], tasks=[work], memory=memory).kickoff().raw


def main() -> None:
    home = os.environ.get("MNEMOWEAVE_HOME")
    base = Path(home) if home else Path(tempfile.mkdtemp(prefix="mnemoweave-crewai-"))
    store = base / "crewai-example"
    embedder = pick_embedder()
    print(f"store: {store} (embedder: {'hash' if embedder == 'hash' else 'local'})")

    with ScriptedOpenAIServer() as mnemoweave_llm:
        # What mnemoweave's LLM replies when it reads each crew's task result.
        mnemoweave_llm.script(
            {"operations": [{"op": "ADD", "id": None, "text": "Favourite colour is teal"}]},
            {"operations": [{"op": "NONE", "id": 0, "text": None}]},
        )
        llm_config = {"model": "scripted", "base_url": mnemoweave_llm.base_url, "api_key": "none"}

        first = mnemoweave_memory(user_id="alice", path=store, embedder=embedder, llm=llm_config)
        answer = run_crew(first, ScriptedCrewLLM(model="scripted"), "Ask about the user's taste.")
        print("crew 1 answer:", answer)
        print("mnemoweave now knows:", [r.content for r in first.list_records()])
        first.close()

        # Later (or in another process): a new crew on the same store recalls the fact.
        second = mnemoweave_memory(user_id="alice", path=store, embedder=embedder, llm=llm_config)
        crew_llm = ScriptedCrewLLM(model="scripted")
        answer = run_crew(second, crew_llm, "Pick a website theme for the user's taste.")
        prompt = crew_llm.prompts[0]
        print("crew 2 saw in its prompt:")
        print(prompt[prompt.index(OPEN_TAG) : prompt.index(CLOSE_TAG) + len(CLOSE_TAG)])
        print("crew 2 answer:", answer)
        second.close()


if __name__ == "__main__":
    main()
