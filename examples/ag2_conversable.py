"""AG2 classic + mnemoweave: a ConversableAgent recalls, in a new chat, what it was told before.

Offline: a tiny stand-in model is registered with ``register_model_client`` (in real code,
drop it and put your model in ``config_list``, e.g. ``{"model": "gpt-4.1-mini"}``). Data goes
to $MNEMOWEAVE_HOME, or a fresh temporary folder when it is not set.

    pip install "mnemoweave-adapters[ag2]"
    python examples/ag2_conversable.py
"""

from __future__ import annotations

import os
import tempfile
from types import SimpleNamespace
from typing import Any

from autogen import ConversableAgent

from mnemoweave_adapters import OPEN_TAG, unquote_block
from mnemoweave_adapters.ag2 import MnemoweaveCapability

HOME = os.environ.get("MNEMOWEAVE_HOME") or tempfile.mkdtemp(prefix="mnemoweave-ag2-")
LLM_CONFIG = {
    "config_list": [{"model": "stand-in", "model_client_cls": "StandInModel", "api_key": "-"}],
    "cache_seed": None,
}


class StandInModel:
    """Answers with the remembered facts it finds in its prompt (a real model would reason)."""

    def __init__(self, config: dict[str, Any], **_: Any) -> None:
        self.config = config

    def create(self, params: dict[str, Any]) -> Any:
        blocks = [m["content"] for m in params["messages"] if m.get("role") == "system"]
        facts = [f for b in blocks if b.startswith(OPEN_TAG) for f in unquote_block(b)]
        text = f"I remember: {facts[0]}" if facts else "Nice to meet you!"
        message = SimpleNamespace(content=text, tool_calls=None, function_call=None)
        return SimpleNamespace(choices=[SimpleNamespace(message=message)], model="stand-in")

    def message_retrieval(self, response: Any) -> list[str]:
        return [choice.message.content for choice in response.choices]

    def cost(self, response: Any) -> float:
        return 0.0

    @staticmethod
    def get_usage(response: Any) -> dict[str, Any]:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "cost": 0.0,
                "model": "stand-in"}  # fmt: skip


# --- the snippet -----------------------------------------------------------------------------
def chat(message: str) -> str:
    assistant = ConversableAgent("assistant", llm_config=LLM_CONFIG, human_input_mode="NEVER")
    assistant.register_model_client(StandInModel)
    memory = MnemoweaveCapability(HOME, user_id="alex")  # recall before replies, remember after
    memory.add_to_agent(assistant)
    user = ConversableAgent("alex", llm_config=False, human_input_mode="NEVER")
    result = user.initiate_chat(assistant, message=message, max_turns=1, silent=True)
    memory.close()  # waits for the background remembering, then closes the store
    return result.chat_history[-1]["content"]


if __name__ == "__main__":
    print("chat 1:", chat("Hi! My dog is called Rex and he loves frisbees."))
    print("chat 2:", chat("What is my dog called?"))
    print(f"data kept in {HOME}")
