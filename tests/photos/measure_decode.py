"""Run as a script: store one upload through the photo pipeline in a fresh process and print,
as JSON, the outcome (``stored`` or the refusal's key), the seconds it took and the process's
peak memory growth in MB as the kernel saw it (Pillow's C buffers included, which
``tracemalloc`` cannot see): on Linux the peak RSS is reset just before the call
(``/proc/self/clear_refs``), so the growth is measured from the resident size at that moment;
elsewhere ``ru_maxrss`` (a high-water mark that setup may already have raised).

    python tests/photos/measure_decode.py PAYLOAD_FILE SCRATCH_FOLDER
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _start_peak() -> tuple[str, int]:
    """Reset the peak and return how to read it back, with the baseline in kB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return "proc", _status_kb("VmRSS")
    except OSError:
        return "rusage", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak(how: str) -> int:
    if how == "proc":
        return _status_kb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    payload, scratch = Path(sys.argv[1]), Path(sys.argv[2])
    data = payload.read_bytes()

    from sqlalchemy import text

    from app import create_app
    from app.extensions import db
    from app.photos.services import PhotoError, store_photo

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "measure",
            "AUDIT_KEY": "measure",
            "DATA_KEYS": "k1:dGVzdC1kYXRhLWtleS10ZXN0LWRhdGEta2V5LTEyMzQ=",
            "INSTANCE_PATH": str(scratch / "instance"),
            "UPLOAD_DIR": str(scratch / "uploads"),
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    with app.app_context():
        db.create_all()
        db.session.execute(text("PRAGMA foreign_keys=OFF"))  # no user or site rows needed
        gc.collect()
        how, before = _start_peak()
        started = time.perf_counter()
        try:
            store_photo(data, owner=SimpleNamespace(id=1), site_id=1)
            outcome = "stored"
        except PhotoError as refusal:
            outcome = refusal.key
        seconds = time.perf_counter() - started
        peak = _peak(how)
    growth = (peak - before) / 1024
    print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_mb": growth, "how": how}))


if __name__ == "__main__":
    main()
