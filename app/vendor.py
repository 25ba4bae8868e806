"""Browser libraries the pages load: CDN URL, SRI hash and local fallback (static/vendor.json)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import current_app


@cache
def _vendor_manifest(path: str) -> dict:
    return json.loads(Path(path).read_text())


def vendor() -> dict:
    """Browser libraries: CDN URL, SRI hash and local fallback (static/vendor.json)."""
    return _vendor_manifest(str(Path(current_app.static_folder) / "vendor.json"))
