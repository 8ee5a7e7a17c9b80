"""Images downloaded from the web, only with the manifest's `allow_remote: true` (see sanitize.py): each URL
at most once a build, http(s) only (redirects too), at most MAX_REMOTE_BYTES in REMOTE_TIMEOUT, an image
type checked by its first bytes, handed on as a data: URL."""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from .images import raster_type

MAX_REMOTE_BYTES = 5 * 1024 * 1024
REMOTE_TIMEOUT = 10.0  # seconds for one download, all of it


class RemoteImages:
    """Downloads for one build, each URL at most once: a data: URL, or the reason there is none."""

    def __init__(self, allowed: bool, *, max_bytes: int = MAX_REMOTE_BYTES, timeout: float = REMOTE_TIMEOUT):
        self.allowed = allowed
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.done: dict[str, tuple[str | None, str]] = {}

    def fetch(self, url: str) -> tuple[str | None, str]:
        if not self.allowed:
            return None, "remote images are not downloaded"
        if url not in self.done:
            self.done[url] = self._download(url)
        return self.done[url]

    def _download(self, url: str) -> tuple[str | None, str]:
        opener = urllib.request.build_opener(_WebOnlyRedirects())
        request = urllib.request.Request(url, headers={"User-Agent": "publisher", "Accept": "image/*"})
        deadline = time.monotonic() + self.timeout
        try:
            with opener.open(request, timeout=self.timeout) as response:
                kind = response.headers.get_content_type()
                if not kind.startswith("image/"):
                    return None, f"it is {kind}, not an image"
                length = response.headers.get("Content-Length", "")
                if length.isdigit() and int(length) > self.max_bytes:
                    return None, f"larger than {self.max_bytes // (1024 * 1024)} MB"
                data = b""
                while chunk := response.read(64 * 1024):
                    data += chunk
                    if len(data) > self.max_bytes:
                        return None, f"larger than {self.max_bytes // (1024 * 1024)} MB"
                    if time.monotonic() > deadline:
                        return None, f"took longer than {self.timeout:g} s"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return None, str(getattr(exc, "reason", exc))
        kind = raster_type(data)
        if kind is None:
            return None, "not a PNG, JPEG, GIF or WebP image"
        return f"data:{kind[0]};base64,{base64.b64encode(data).decode('ascii')}", ""


class _WebOnlyRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):  # as urllib reads the URL it would open
            raise urllib.error.URLError(f"redirected to {' '.join(newurl.split())[:60]}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)
