"""``python -m mnemoweave_server``: the ``mnemoweave-server`` command."""

from ._cli import main

raise SystemExit(main())
