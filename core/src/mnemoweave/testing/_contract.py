"""The backend contract suite: behaviour every mnemoweave storage backend must show.

Subclass :class:`BackendContractTests` in the backend's tests and define the
``memory_config`` fixture (a JSON-serialisable dict ``Memory.from_config`` opens, one fresh
store per test); override ``stored_bytes`` if the backend does not keep its data under
``config["path"]``. Each test's docstring says what the contract is and how to fix a
failure. Requires pytest and hypothesis (``pip install mnemoweave[test]``).
"""

from __future__ import annotations

from ._contract_processes import ProcessContract
from ._contract_records import RecordContract
from ._contract_scopes import ScopeContract
from ._contract_search import SearchContract

_PARTS = (RecordContract, SearchContract, ScopeContract, ProcessContract)


class BackendContractTests(RecordContract, SearchContract, ScopeContract, ProcessContract):
    """CRUD, versions and ``as_of``, filters, exact scoped recall, isolation, batches,
    erasure, concurrent processes and crashes, all through the public ``Memory`` API.

    Flags and hooks: see :class:`mnemoweave.testing._contract_base.ContractBase`
    (``shared_by_processes``, ``allowed_overrides``, ``stored_bytes``).
    """

    def test_contract_is_not_silently_overridden(self) -> None:
        """A subclass may not replace a contract test unless it says why.

        Fix: remove the override, or list it in ``allowed_overrides`` with the reason.
        """
        contract = {
            name: fn
            for part in _PARTS
            for name, fn in vars(part).items()
            if name.startswith("test_")
        }
        contract["test_contract_is_not_silently_overridden"] = vars(BackendContractTests)[
            "test_contract_is_not_silently_overridden"
        ]
        replaced = [name for name, fn in contract.items() if getattr(type(self), name) is not fn]
        assert [name for name in replaced if name not in self.allowed_overrides] == []
