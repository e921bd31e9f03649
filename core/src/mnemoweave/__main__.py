"""``python -m mnemoweave``: the ``mnemoweave`` command line."""

from ._cli import main

main()
