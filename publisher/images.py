"""What kind of image a file holds, by its first bytes (never by its name): one table for every reader of
images (the vault's for the EPUB and the DOCX, downloaded ones)."""

from __future__ import annotations

RASTER = {b"\x89PNG\r\n\x1a\n": ("image/png", ".png"), b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
          b"GIF87a": ("image/gif", ".gif"), b"GIF89a": ("image/gif", ".gif")}


def raster_type(data: bytes) -> tuple[str, str] | None:
    """(media type, suffix) of a PNG, JPEG, GIF or WebP, else None."""
    for magic, kind in RASTER.items():
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None
