"""A stable digest of a file's text, for caches that outlive the process (light: no libcst)."""

from __future__ import annotations

import hashlib


def digest(text: str) -> str:
    """128-bit BLAKE2b of the text's UTF-8 bytes, as hex."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
