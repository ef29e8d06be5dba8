"""What every managed piece of a shoot offers a flow, after Gardener's ``DeployWaiter``.

A component (etcd, kube-apiserver, the worker pools, ...) knows how to bring its
objects to the spec, how to tell when they serve, and how to remove them again.
A flow only wires components: reconcile runs ``deploy`` then ``wait``; delete runs
``destroy`` then ``wait_cleanup`` in the reverse order. Hibernation and wake-up will
be further wirings of the same objects (a second protocol beside this one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class NotReady(RuntimeError):
    """Raised by ``wait``/``wait_cleanup`` while the component is not there yet: retry."""


class Component(Protocol):
    """One managed piece; every method is idempotent, so a flow may retry any of them."""

    @property
    def name(self) -> str:
        """How people call it in task names and logs: "etcd", "kube-apiserver"."""
        ...

    def deploy(self) -> None:
        """Create or update the component's objects to the spec (returns without waiting)."""
        ...

    def wait(self) -> None:
        """Return once the component serves; raise :class:`NotReady` until then."""
        ...

    def destroy(self) -> None:
        """Start removing the component's objects; absent objects are not an error."""
        ...

    def wait_cleanup(self) -> None:
        """Return once nothing of the component is left; raise :class:`NotReady` until then."""
        ...


def wait_all(components: Iterable[Component]) -> None:
    """Wait for several components at once: one :class:`NotReady` naming every laggard."""
    lagging = []
    for component in components:
        try:
            component.wait()
        except NotReady as err:
            lagging.append(str(err))
    if lagging:
        raise NotReady("; ".join(lagging))


def serving(component: Component) -> bool:
    """Whether ``component`` serves right now (one look, no waiting)."""
    try:
        component.wait()
    except NotReady:
        return False
    return True
