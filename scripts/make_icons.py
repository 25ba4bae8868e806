"""Draw the app icons (192, 512, maskable 512) into static/icons/; the PNGs are committed."""

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = (15, 61, 94, 255)
WHITE = (255, 255, 255, 255)
GOLD = (242, 169, 0, 255)
OUT = Path(__file__).resolve().parent.parent / "static" / "icons"


def draw(size: int, *, maskable: bool) -> Image.Image:
    scale = 4  # draw large, shrink for smooth edges
    s = size * scale
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if maskable:
        d.rectangle([0, 0, s, s], fill=BRAND)
        inner = 0.56  # keep the shield inside the 80 % safe zone
    else:
        d.rounded_rectangle([0, 0, s - 1, s - 1], radius=int(s * 0.22), fill=BRAND)
        inner = 0.68
    w = s * inner
    x0, y0 = (s - w) / 2, (s - w * 1.1) / 2
    top, mid, bottom = y0, y0 + w * 0.62, y0 + w * 1.1
    shield = [
        (x0 + w / 2, top),
        (x0 + w, top + w * 0.16),
        (x0 + w, mid),
        (x0 + w / 2, bottom),
        (x0, mid),
        (x0, top + w * 0.16),
    ]
    d.polygon(shield, fill=WHITE)
    lw = int(w * 0.11)
    check = [
        (x0 + w * 0.27, y0 + w * 0.55),
        (x0 + w * 0.45, y0 + w * 0.73),
        (x0 + w * 0.76, y0 + w * 0.36),
    ]
    d.line(check, fill=GOLD, width=lw, joint="curve")
    for cx, cy in (check[0], check[-1]):
        d.ellipse([cx - lw / 2, cy - lw / 2, cx + lw / 2, cy + lw / 2], fill=GOLD)
    return img.resize((size, size), Image.LANCZOS)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    draw(192, maskable=False).save(OUT / "icon-192.png", optimize=True)
    draw(512, maskable=False).save(OUT / "icon-512.png", optimize=True)
    draw(512, maskable=True).save(OUT / "icon-maskable-512.png", optimize=True)
