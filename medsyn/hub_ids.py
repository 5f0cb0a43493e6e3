"""The names a Hub repository and a published version may have, and whether an endpoint is this machine.

Apart from `medsyn.hub` because the modules that `medsyn.hub` publishes from (the Space export, the model card)
check the same names: keeping the rules here lets them do so without importing the publisher.
"""

from __future__ import annotations

import re
from ipaddress import ip_address
from urllib.parse import urlsplit

from medsyn.errors import MedsynError

REPO_ID = re.compile(r"^(?!.*(--|\.\.))[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
VERSION = re.compile(r"^v\d+\.\d+(\.\d+)?$")


def check_repo_id(repo_id: str) -> str:
    if not REPO_ID.match(repo_id or ""):
        raise MedsynError(
            f"--repo-id {repo_id!r} is not ORG/NAME (letters, digits, '-', '_', '.'; one '/'), e.g. my-org/medsyn-ru"
        )
    return repo_id


def check_version(version: str) -> str:
    if not VERSION.match(version or ""):
        raise MedsynError(f"--version {version!r} is not a version tag like v1.0 or v1.2.3")
    return version


def is_loopback(endpoint: str) -> bool:
    """A URL of this machine: the Hub emulator of the tests needs no token, and a Space cannot reach such a server."""
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
