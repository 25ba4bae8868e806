"""Fetch browser libraries listed in static/vendor.json with `npm pack`; check their SRI hash.

Third-party code is never committed: this puts a local copy in static/vendor/ (ignored by git)
for the page to fall back on when the CDN is unreachable. The copy must match the same hash
the CDN copy is checked against, or set-up fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def fetch(name: str, spec: dict) -> None:
    target = STATIC / spec["local"]
    if target.exists() and sri(target.read_bytes()) == spec["integrity"]:
        print(f"vendor: {name} {spec['version']} already present")
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("vendor: npm is needed to fetch browser libraries (install Node.js and npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [npm, "pack", f"{spec['package']}@{spec['version']}", "--silent"],
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            member = tar.extractfile(f"package/{spec['file']}")
            if member is None:
                sys.exit(f"vendor: {spec['file']} not found in {tarball.name}")
            data = member.read()
    if sri(data) != spec["integrity"]:
        sys.exit(f"vendor: {name} hash mismatch: got {sri(data)}, expected {spec['integrity']}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    print(f"vendor: {name} {spec['version']} fetched and verified")


def main() -> None:
    manifest = json.loads((STATIC / "vendor.json").read_text())
    for name, spec in manifest.items():
        fetch(name, spec)


if __name__ == "__main__":
    main()
