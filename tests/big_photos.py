"""Photos above the Face API's 6 MB, made at test time from a sample portrait (a
big file is never committed): upscaled to a phone camera's size, with noise so
that it does not compress."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parent.parent / "manifests" / "faces" / "people"


def phone_photo(person: str = "christina_koch", long_side: int = 4032, *, seed: int = 7,
                **save: object) -> bytes:
    """The person's first sample portrait as a high-quality JPEG whose longest side is
    `long_side` (4032 gives 3024x4032 and about 8 MB); `save` adds Pillow save
    options (exif=...)."""
    with Image.open(sorted((SAMPLES / person).glob("*.jpg"))[0]) as opened:
        scale = long_side / max(opened.size)
        size = (round(opened.width * scale), round(opened.height * scale))
        picture = opened.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    noise = np.random.default_rng(seed).integers(-40, 41, (size[1], size[0], 3), dtype=np.int16)
    noisy = Image.fromarray(np.clip(np.asarray(picture) + noise, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=95, **save)
    return out.getvalue()


def two_portraits(left: str = "christina_koch", right: str = "jeremy_hansen",
                  *, scale: float = 3.5, seed: int = 11) -> tuple[bytes, tuple[int, int]]:
    """Two sample portraits side by side, enlarged with noise into a photo above 6 MB,
    and the photo's (width, height): the right half holds only the `right` person."""
    halves = []
    for person in (left, right):
        with Image.open(sorted((SAMPLES / person).glob("*.jpg"))[0]) as opened:
            width, height = opened.size
            halves.append(opened.convert("RGB").resize(
                (round(width * scale), round(height * scale)), Image.Resampling.BILINEAR))
    size = (halves[0].width + halves[1].width, max(h.height for h in halves))
    canvas = Image.new("RGB", size, (128, 128, 128))
    canvas.paste(halves[0], (0, 0))
    canvas.paste(halves[1], (halves[0].width, 0))
    noise = np.random.default_rng(seed).integers(-40, 41, (size[1], size[0], 3), dtype=np.int16)
    noisy = Image.fromarray(np.clip(np.asarray(canvas) + noise, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=95)
    return out.getvalue(), size
