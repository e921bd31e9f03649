"""How LangGraph namespaces map onto mnemoweave scopes, and how store items sit in metadata.

The rule (documented in docs/langchain.md) is reversible and depends only on a namespace's
first two labels, so every namespace under a two-label prefix shares one mnemoweave scope:

* every item written by a ``MnemoweaveStore`` has ``agent_id`` = the store's ``agent_id``;
* ``(root, uid, ...)`` with ``root`` one of the store's ``users_root`` labels (default
  ``"users"`` and LangMem's ``"memories"``) has ``user_id = uid`` -- the same user other
  mnemoweave adapters see -- unless ``uid`` starts with ``ns:``;
* any other namespace has ``user_id = "ns:" + "/".join(quote(label) for label in ns[:2])``.

Prefixes shorter than two labels span several users, so they search the store-wide scope
(``agent_id`` alone) narrowed by label filters. The full namespace, key and value are kept
in the memory's metadata, which is also what every read filters on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote

from langgraph.store.base import InvalidNamespaceError

from mnemoweave import MemoryItem, ValidationError

GENERIC = "ns:"
TENANT_DEPTH = 2

NAMESPACE = "langgraph.namespace"
DEPTH = "langgraph.depth"
KEY = "langgraph.key"
INDEXED = "langgraph.indexed"
LABEL = "langgraph.ns."
VALUE = "langgraph.value."


class InvalidNamespace(InvalidNamespaceError, ValidationError):
    """A namespace LangGraph would reject; both LangGraph's and mnemoweave's error type."""


def check_namespace(namespace: Any, *, allow_empty: bool) -> tuple[str, ...]:
    """The namespace as a tuple of non-empty strings (raises :class:`InvalidNamespace`)."""
    if isinstance(namespace, str) or not isinstance(namespace, Sequence):
        raise InvalidNamespace(f"a namespace is a tuple of strings, got {namespace!r}")
    labels = tuple(namespace)
    if not labels and not allow_empty:
        raise InvalidNamespace("a namespace needs at least one label")
    for label in labels:
        if not isinstance(label, str) or not label:
            raise InvalidNamespace(f"namespace labels are non-empty strings, got {namespace!r}")
        if "." in label or "\x00" in label:  # LangGraph's rule, so namespaces stay portable
            raise InvalidNamespace(
                f"namespace labels cannot contain periods or NUL bytes, got {namespace!r}"
            )
    return labels


class NamespaceScopes:
    """The namespace <-> scope rule for one store (its ``agent_id`` and ``users_root``)."""

    def __init__(self, agent_id: str, users_root: str | Sequence[str] | None) -> None:
        if not isinstance(agent_id, str) or not agent_id.strip():
            raise ValidationError(f"agent_id must be a non-empty string, got {agent_id!r}")
        roots = (users_root,) if isinstance(users_root, str) else tuple(users_root or ())
        if (users_root is not None and not roots) or not all(
            isinstance(root, str) and root for root in roots
        ):
            raise ValidationError(
                "users_root must be a non-empty string, a list of them, or None, "
                f"got {users_root!r}"
            )
        self.agent_id = agent_id
        self.users_roots = roots

    def user_id(self, labels: Sequence[str]) -> str:
        """The mnemoweave ``user_id`` of a namespace (only its first two labels count)."""
        head = tuple(labels[:TENANT_DEPTH])
        if (
            len(head) == TENANT_DEPTH
            and head[0] in self.users_roots
            and not head[1].startswith(GENERIC)
        ):
            return head[1]
        return GENERIC + "/".join(quote(label, safe="") for label in head)

    def tenant(self, user_id: str) -> tuple[str, ...]:
        """The inverse of :meth:`user_id`: the namespace prefix a ``user_id`` stands for.

        With several ``users_root`` labels a plain ``user_id`` stands for all of them; the
        first one is returned.
        """
        if user_id.startswith(GENERIC):
            return tuple(unquote(part) for part in user_id[len(GENERIC) :].split("/"))
        if not self.users_roots:
            raise ValidationError(f"{user_id!r} is not a store user id (users_root is None)")
        return (self.users_roots[0], user_id)

    def item_scope(self, namespace: Sequence[str]) -> dict[str, Any]:
        """The scope an item of ``namespace`` is stored in."""
        return {"agent_id": self.agent_id, "user_id": self.user_id(namespace)}

    def scope(self, prefix: Sequence[str]) -> dict[str, Any]:
        """The narrowest mnemoweave scope that holds every namespace starting with ``prefix``."""
        if len(prefix) >= TENANT_DEPTH:
            return self.item_scope(prefix)
        return {"agent_id": self.agent_id}


def label_filter(prefix: Sequence[str | None]) -> dict[str, Any]:
    """Metadata equality on each label of ``prefix`` (``None`` positions match anything)."""
    return {f"{LABEL}{i}": label for i, label in enumerate(prefix) if label is not None}


def item_filter(namespace: Sequence[str], key: str) -> dict[str, Any]:
    """Metadata filter matching exactly one (namespace, key)."""
    return {**label_filter(namespace), DEPTH: len(namespace), KEY: key}


def item_metadata(
    namespace: Sequence[str], key: str, value: Mapping[str, Any], *, indexed: bool
) -> dict[str, Any]:
    """The metadata that stores one item: namespace, key, index flag and the value's fields."""
    meta: dict[str, Any] = {NAMESPACE: list(namespace), DEPTH: len(namespace), KEY: key}
    meta.update(label_filter(namespace))
    meta[INDEXED] = indexed
    meta.update({VALUE + field: data for field, data in value.items()})
    return meta


def is_store_item(item: MemoryItem) -> bool:
    return isinstance(item.metadata.get(NAMESPACE), list) and isinstance(
        item.metadata.get(KEY), str
    )


def namespace_of(item: MemoryItem) -> tuple[str, ...]:
    return tuple(item.metadata[NAMESPACE])


def value_of(item: MemoryItem) -> dict[str, Any]:
    """The value exactly as it was put (field order included)."""
    return {k[len(VALUE) :]: v for k, v in item.metadata.items() if k.startswith(VALUE)}
