"""Which cluster a piece of history belongs to, across renamed contexts.

A kubeconfig context, or an agent, may be renamed; the cluster behind it stays the same.
History is keyed by the cluster's *identity*: the UID of its ``kube-system`` namespace,
which is created once with the cluster and never changes. The display name is only a
label, updated when it changes (earlier names stay findable as aliases).

When the UID is not known yet (before the first namespace LIST) or never will be (an
RBAC-limited user who cannot read ``kube-system``), the identity is provisional and keyed by
the display name; once the UID turns up, the store folds that history into the cluster's
real identity.
"""

from __future__ import annotations

from dataclasses import dataclass

_UID_PREFIX = "uid:"
_NAME_PREFIX = "name:"


@dataclass(frozen=True, slots=True)
class ClusterIdentity:
    key: str
    display_name: str

    @property
    def is_provisional(self) -> bool:
        """Keyed by a display name: a rename would start a new history."""
        return self.key.startswith(_NAME_PREFIX)

    @property
    def kube_system_uid(self) -> str | None:
        return self.key[len(_UID_PREFIX) :] if self.key.startswith(_UID_PREFIX) else None


def cluster_identity(kube_system_uid: str | None, display_name: str) -> ClusterIdentity:
    """The identity of the cluster whose ``kube-system`` namespace has this UID.

    Pass ``state.get("Namespace", "", "kube-system").uid`` (or None when that namespace
    is not visible) and the context's (or agent's) current name.
    """
    if not display_name:
        raise ValueError("a cluster needs a display name")
    uid = (kube_system_uid or "").strip()
    if uid:
        return ClusterIdentity(_UID_PREFIX + uid, display_name)
    return provisional_identity(display_name)


def provisional_identity(display_name: str) -> ClusterIdentity:
    return ClusterIdentity(_NAME_PREFIX + display_name, display_name)
