"""The versions pinned in pins.txt, the project's one source for them."""

from __future__ import annotations

from importlib import resources

PINS_FILE = "pins.txt"


def pins() -> dict[str, str]:
    """`name -> version` of every `name==version` line in pins.txt."""
    text = resources.files("airflow_provider_garden").joinpath(PINS_FILE).read_text()
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise ValueError(f"{PINS_FILE}: {line!r} is not `name==version`")
        found[name.strip().lower()] = version.strip()
    return found


def pinned(name: str) -> str:
    """The pinned version of distribution `name`; KeyError naming the file if none."""
    try:
        return pins()[name.lower()]
    except KeyError:
        raise KeyError(f"{name} has no `{name}==<version>` line in {PINS_FILE}") from None
