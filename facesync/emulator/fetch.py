"""Images given by URL (`{"url": ...}` bodies): only local sources are fetched.

The emulator never reaches the internet: it fetches `file:` URLs (for callers
on the same machine only) and http(s) URLs whose host is a loopback address or
`localhost`; any other URL is 400 InvalidURL. Redirects are not followed, and
no more than 6 MB + 1 byte is read (the size rule then answers).
"""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from facesync.emulator import errors
from facesync.limits import IMAGE_MAX_BYTES

FETCH_TIMEOUT_SECONDS = 10


def is_loopback_host(host: str) -> bool:
    """localhost or a loopback address (IPv4 or IPv6, bracketed or not): the
    only hosts the emulator fetches from, and serves without a key."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch_image(url: str, *, allow_files: bool) -> bytes:
    """The bytes behind an image URL, or the service's InvalidURL error."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        raise errors.URL_INVALID.error() from None
    scheme = parts.scheme.lower()
    if scheme == "file" and allow_files and parts.netloc in ("", "localhost"):
        return _read_file(urllib.request.url2pathname(parts.path))
    if scheme in ("http", "https") and parts.hostname and is_loopback_host(parts.hostname):
        return _download(url.strip())
    raise errors.URL_INVALID.error()


def _read_file(path: str) -> bytes:
    try:
        if not Path(path).is_file():  # no directories, devices or pipes
            raise errors.URL_DOWNLOAD_FAILED.error()
        with Path(path).open("rb") as handle:
            return handle.read(IMAGE_MAX_BYTES + 1)
    except (OSError, ValueError):
        raise errors.URL_DOWNLOAD_FAILED.error() from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _download(url: str) -> bytes:
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            if response.status != 200:
                raise errors.URL_DOWNLOAD_FAILED.error()
            return response.read(IMAGE_MAX_BYTES + 1)
    except (OSError, ValueError, urllib.error.URLError):
        raise errors.URL_DOWNLOAD_FAILED.error() from None
