"""Image checks and decoding as the Face API does them, safe against hostile files.

The format is judged by content, never by name or Content-Type. A file that
would decode to more than IMAGE_MAX_PIXELS is refused from its header alone,
before any pixel is decoded (decompression bombs). EXIF orientation is not
applied: like the service, rectangles are in the stored pixel grid.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from facesync.emulator import errors
from facesync.emulator.errors import ErrorSpec
from facesync.errors import FacesyncError
from facesync.limits import IMAGE_FORMATS, IMAGE_MAX_BYTES, IMAGE_MAX_PIXELS, IMAGE_MIN_BYTES

# Detection runs on a copy whose long side is at most this; larger photos are
# scaled down first (rectangles are mapped back to the original grid).
DETECTION_MAX_SIDE = 1024


class ImageRefused(FacesyncError):
    """An image the Face API would refuse; `spec` is the service's error for it."""

    def __init__(self, spec: ErrorSpec) -> None:
        super().__init__(spec.message)
        self.spec = spec

    def __reduce__(self) -> tuple[type[ImageRefused], tuple[ErrorSpec]]:
        # A vision worker sends it back to the server: rebuild it from its spec.
        return (ImageRefused, (self.spec,))


@dataclass(frozen=True)
class Picture:
    """A decoded image: its original size and an RGB copy scaled for detection."""

    width: int
    height: int
    rgb: Image.Image  # mode RGB, long side <= DETECTION_MAX_SIDE
    scale: float  # rgb size / original size


def check_size(data: bytes) -> None:
    """The service's file size rule: 1 KB .. 6 MB."""
    if len(data) < IMAGE_MIN_BYTES:
        raise ImageRefused(errors.IMAGE_TOO_SMALL)
    if len(data) > IMAGE_MAX_BYTES:
        raise ImageRefused(errors.IMAGE_TOO_BIG)


def decode(data: bytes, max_side: int = DETECTION_MAX_SIDE) -> Picture:
    """Decode JPEG/PNG/GIF (first frame)/BMP; anything else is unsupported."""
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise ImageRefused(errors.IMAGE_UNSUPPORTED) from None
    except Exception:  # Pillow plugins raise odd types on hostile headers
        raise ImageRefused(errors.IMAGE_UNSUPPORTED) from None
    with image:
        if image.format not in IMAGE_FORMATS:
            raise ImageRefused(errors.IMAGE_UNSUPPORTED)
        width, height = image.size
        if width < 1 or height < 1 or width * height > IMAGE_MAX_PIXELS:
            raise ImageRefused(errors.IMAGE_UNSUPPORTED)
        scale = min(1.0, max_side / max(width, height))
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        try:
            rgb = _load_rgb(image, target)
        except Exception:  # truncated or corrupt pixel data
            raise ImageRefused(errors.IMAGE_UNSUPPORTED) from None
    return Picture(width=width, height=height, rgb=rgb, scale=target[0] / width)


def _load_rgb(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    if image.format == "JPEG":
        # Let libjpeg decode at a reduced scale: big photos cost a fraction of the memory.
        image.draft("RGB", target)
    image.seek(0)
    image.load()
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGBA") if "transparency" in image.info else image
    rgb = image.convert("RGB")
    if rgb.size != target:
        rgb = rgb.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return rgb
