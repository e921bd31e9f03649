"""mnemoweave quickstart: remember facts for a user and recall them, offline.

Runs on the embedded defaults (local all-MiniLM-L6-v2 embedder, no LLM, no API key).
Data goes to $MNEMOWEAVE_HOME, or a fresh temporary folder when it is not set.

    python examples/quickstart.py
"""

from __future__ import annotations

import os
import tempfile

from mnemoweave import Memory

home = os.environ.get("MNEMOWEAVE_HOME") or tempfile.mkdtemp(prefix="mnemoweave-quickstart-")

with Memory(home) as memory:
    memory.add("I'm Alex, I live in Lisbon and I'm allergic to peanuts.", user_id="alex")
    memory.add("I play the cello every Sunday.", user_id="alex")
    memory.add("I'm Sam and I love spicy food.", user_id="sam")

    for question in ("What should I avoid cooking for Alex?", "What instrument does Alex play?"):
        hits = memory.search(question, user_id="alex", limit=1)
        best = hits["results"][0]
        print(f"{question} -> {best['memory']} (score {best['score']:.2f})")

    # Scoping is a hard boundary: Sam's memories never show up for Alex.
    everything_for_alex = memory.get_all(user_id="alex")
    print(f"alex has {everything_for_alex.total} memories; sam has {memory.count(user_id='sam')}")

    # Updating keeps the id and the old text as history.
    first = everything_for_alex.results[-1]
    memory.update(first.id, "I'm Alex, I moved to Porto and I'm allergic to peanuts.")
    print("history:", [(h.event, h.new_memory) for h in memory.history(first.id)])
print(f"data kept in {home}")
