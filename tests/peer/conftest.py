"""The peer suites: frameworks' own test files, fetched at a pinned version, run against us."""

from __future__ import annotations

import sys
from pathlib import Path

# The helpers here (_sdist, the pytest plugins) are imported by name, here and in child runs.
sys.path.insert(0, str(Path(__file__).parent))
