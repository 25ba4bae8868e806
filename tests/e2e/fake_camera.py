"""Turn a picture into a Y4M video that Chromium's fake camera plays in a loop."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def picture_to_y4m(picture: Path, target: Path, *, width: int = 640, height: int = 480) -> Path:
    """Centre the picture on a white 4:3 frame and write a few identical YUV 4:2:0 frames."""
    frame = Image.new("RGB", (width, height), "white")
    image = Image.open(picture).convert("RGB")
    image.thumbnail((width - 40, height - 40))
    frame.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with target.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            out.write(b"FRAME\n" + planes)
    return target
