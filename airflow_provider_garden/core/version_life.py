"""Versions with a life cycle, as Gardener's CloudProfile classifies them.

Each offered Kubernetes version is ``preview`` (usable when asked for, never chosen
automatically), ``supported``, ``deprecated`` (usable, to be left) or ``expired`` (a
shoot on it is moved off in its next maintenance window); an ``expirationDate`` makes
it expired from that instant. A version the profile no longer lists is expired too.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .spec_fields import FieldError, SpecError


class Classification(enum.StrEnum):
    PREVIEW = "preview"
    SUPPORTED = "supported"
    DEPRECATED = "deprecated"
    EXPIRED = "expired"


#: what maintenance may move a shoot to by itself
AUTOMATIC = frozenset({Classification.SUPPORTED, Classification.DEPRECATED})


@dataclass(frozen=True)
class VersionLife:
    version: str
    classification: Classification = Classification.SUPPORTED
    expiration: dt.datetime | None = None

    def at(self, when: dt.datetime) -> Classification:
        """The classification in force at ``when``: expired from the expiration date on."""
        if self.expiration is not None and when >= self.expiration:
            return Classification.EXPIRED
        return self.classification

    def to_json(self) -> str | dict[str, str]:
        """A bare version string when supported without an expiration (the old format)."""
        if self.classification is Classification.SUPPORTED and self.expiration is None:
            return self.version
        out = {"version": self.version, "classification": str(self.classification)}
        if self.expiration is not None:
            out["expirationDate"] = self.expiration.isoformat().replace("+00:00", "Z")
        return out


@dataclass(frozen=True)
class Choice:
    """One kind of version at one instant: what maintenance may move a shoot to by itself
    (``automatic``: supported and deprecated) and what a shoot may stay on (``usable``:
    all but the expired; a preview version a spec asked for stays)."""

    automatic: tuple[str, ...]
    usable: tuple[str, ...]

    @classmethod
    def plain(cls, versions: Sequence[str]) -> Choice:
        """Every version simply supported."""
        return cls(tuple(versions), tuple(versions))


@dataclass(frozen=True)
class Offering:
    """What a seed offers at one instant: Kubernetes versions and machine image versions."""

    kubernetes: Choice
    images: Mapping[str, Choice]

    @classmethod
    def plain(cls, kubernetes: Sequence[str], images: Mapping[str, Sequence[str]]) -> Offering:
        return cls(Choice.plain(kubernetes), {k: Choice.plain(v) for k, v in images.items()})


@dataclass(frozen=True)
class Versions:
    """The offered versions, newest first, each with its life cycle."""

    items: tuple[VersionLife, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.version for v in self.items)

    def usable(self, at: dt.datetime) -> tuple[str, ...]:
        """What a spec may name: all but the expired (preview too, when asked for)."""
        return tuple(v.version for v in self.items if v.at(at) is not Classification.EXPIRED)

    def automatic(self, at: dt.datetime) -> tuple[str, ...]:
        """What maintenance and defaults may choose: supported and deprecated ones."""
        return tuple(v.version for v in self.items if v.at(at) in AUTOMATIC)

    def choice(self, at: dt.datetime) -> Choice:
        return Choice(self.automatic(at), self.usable(at))

    def deprecated(self, at: dt.datetime) -> tuple[str, ...]:
        return tuple(v.version for v in self.items if v.at(at) is Classification.DEPRECATED)

    def to_json(self) -> list[str | dict[str, str]]:
        return [v.to_json() for v in self.items]


def parse_versions(items: Sequence[object], *, field: str) -> Versions:
    """Versions from a profile: each a version string, or ``{version, classification,
    expirationDate}``; SpecError naming each bad item and its rule."""
    errors: list[FieldError] = []
    parsed: list[VersionLife] = []
    for i, item in enumerate(items):
        path = f"{field}[{i}]"
        if isinstance(item, str):
            parsed.append(VersionLife(item))
            continue
        if not isinstance(item, Mapping) or not isinstance(item.get("version"), str):
            errors.append(FieldError(path, "must be a version or {version, classification, ...}"))
            continue
        try:
            classification = Classification(item.get("classification", "supported"))
        except ValueError:
            choices = ", ".join(c.value for c in Classification)
            errors.append(FieldError(f"{path}.classification", f"must be one of {choices}"))
            continue
        expiration = None
        if (text := item.get("expirationDate")) is not None:
            try:
                expiration = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
            except ValueError:
                expiration = None
            if expiration is None or expiration.tzinfo is None:
                errors.append(
                    FieldError(f"{path}.expirationDate", f"{text!r} is not an RFC 3339 time")
                )
                continue
        parsed.append(VersionLife(str(item["version"]), classification, expiration))
    if errors:
        raise SpecError("CloudProfile", errors)
    return Versions(tuple(parsed))
