"""How the Face API reads an image file, in one place for the manifest's checks
(`validate`, `plan`) and the emulator, so they cannot disagree.

- Formats: JPEG, PNG, GIF (the first frame), BMP, judged by content, never by
  name. An MPO (the multi-picture JPEG phone cameras write) is a JPEG to the
  service: its first picture is an ordinary baseline JPEG and the others follow
  it, so it is taken as a JPEG of that first picture.
- Bytes: 1 KB .. 6 MB (facesync.limits).
- Opening: a file that declares more than IMAGE_MAX_PIXELS is refused from its
  header alone, before any pixel is decoded (decompression bombs).
- Pixels: detection sees 8-bit RGB. A 16-bit PNG (Pillow's mode I;16) is
  scaled to 8 bits, not clipped (clipping turns almost every pixel white and
  hides the face); palette, alpha and CMYK images are converted.
"""

from __future__ import annotations

import enum
import io
import threading
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from facesync.limits import IMAGE_MAX_BYTES, IMAGE_MAX_PIXELS, IMAGE_MIN_BYTES

# Pillow's plugins tried on a file; an MPO is opened by the JPEG plugin.
PILLOW_OPENERS = ("JPEG", "PNG", "GIF", "BMP")
# Pillow's format name -> the service's
SERVICE_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "GIF": "GIF", "BMP": "BMP"}
FORMATS_TEXT = "JPEG, PNG, GIF or BMP"
# Detection runs on a copy whose long side is at most this; larger photos are
# scaled down first (rectangles are mapped back to the original grid).
DETECTION_MAX_SIDE = 1024
_SIXTEEN_BIT_MAX = 65535
_OPEN_MUTEX = threading.Lock()


class Reason(enum.Enum):
    """Why the service refuses an image file."""

    TOO_SMALL = "fewer bytes than the minimum"
    TOO_BIG = "more bytes than the maximum"
    NOT_AN_IMAGE = "not an image of an accepted format"
    TOO_MANY_PIXELS = "declares more pixels than accepted"
    CORRUPT = "cannot be decoded"


class ImageRefusal(Exception):
    """An image the service would refuse, and why (each caller words it its own way);
    `size` is its (width, height) when its header told it."""

    def __init__(self, reason: Reason, size: tuple[int, int] | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.size = size


@dataclass(frozen=True)
class DetectionPixels:
    rgb: Image.Image  # mode RGB, long side <= the max_side asked for
    scale: float  # rgb width / original width


def byte_size_refusal(size: int) -> Reason | None:
    """TOO_SMALL or TOO_BIG for a file of `size` bytes, or None when the size is fine."""
    if size < IMAGE_MIN_BYTES:
        return Reason.TOO_SMALL
    if size > IMAGE_MAX_BYTES:
        return Reason.TOO_BIG
    return None


def open_image(data: bytes) -> tuple[Image.Image, str]:
    """The opened image (header read, no pixel decoded yet) and its service format.

    Raises ImageRefusal. Pillow only warns between its own pixel limit and twice
    that; the warning is made an error here. The warning filters are
    process-wide, so the mutex keeps concurrent opens from undoing each other's
    filter; decoding happens after, outside it.
    """
    try:
        with _OPEN_MUTEX, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=PILLOW_OPENERS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefusal(Reason.TOO_MANY_PIXELS) from None
    except UnidentifiedImageError:
        raise ImageRefusal(Reason.NOT_AN_IMAGE) from None
    except Exception:  # noqa: BLE001 - hostile headers make Pillow's plugins raise many types
        raise ImageRefusal(Reason.CORRUPT) from None
    found = SERVICE_FORMATS.get(image.format or "")
    width, height = image.size
    problem = None
    if found is None:
        problem = Reason.NOT_AN_IMAGE
    elif width < 1 or height < 1:
        problem = Reason.CORRUPT
    elif width * height > IMAGE_MAX_PIXELS:
        problem = Reason.TOO_MANY_PIXELS
    if problem is not None:
        image.close()
        raise ImageRefusal(problem, (width, height))
    return image, found


def decode_first_frame(image: Image.Image, max_side: int = DETECTION_MAX_SIDE) -> tuple[int, int]:
    """Decode every pixel of an opened image's first frame, as detection needs it
    (a big JPEG at a reduced scale: a fraction of the memory and time), and return
    the size detection works at. Raises ImageRefusal(CORRUPT) for a truncated or
    corrupt file. The manifest's checks stop here; detection goes on to
    `detection_pixels`."""
    width, height = image.size
    scale = min(1.0, max_side / max(width, height))
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    try:
        if SERVICE_FORMATS.get(image.format or "") == "JPEG":
            image.draft("RGB", target)
        image.seek(0)
        image.load()
    except Exception:  # noqa: BLE001 - corrupt pixel data makes decoders raise many types
        raise ImageRefusal(Reason.CORRUPT) from None
    return target


def detection_pixels(image: Image.Image, max_side: int = DETECTION_MAX_SIDE) -> DetectionPixels:
    """The first frame of an opened image as the 8-bit RGB detection sees, its long
    side scaled down to `max_side`; raises ImageRefusal(CORRUPT)."""
    width = image.size[0]
    target = decode_first_frame(image, max_side)
    try:
        rgb = eight_bit(image).convert("RGB")
        if rgb.size != target:
            rgb = rgb.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)
    except Exception:  # noqa: BLE001 - a pixel mode Pillow cannot convert
        raise ImageRefusal(Reason.CORRUPT) from None
    return DetectionPixels(rgb, target[0] / width)


def eight_bit(image: Image.Image) -> Image.Image:
    """`image` in a mode whose conversion to RGB keeps what the eye sees.

    Pillow converts 16- and 32-bit grayscale to 8 bits by clipping at 255; the
    service scales. A palette or grayscale image with transparency goes through
    RGBA (its colours, not its palette indexes).
    """
    mode = image.mode
    if mode in ("RGB", "L"):
        return image
    if mode.startswith("I;16") or mode == "I":
        wide = image.convert("I") if mode != "I" else image
        high = wide.getextrema()[1]
        # I;16 is 16-bit by definition; a 32-bit "I" image only when it uses the range
        if mode != "I" or (isinstance(high, int | float) and high > 255):
            wide = wide.point(lambda value: value * (255 / _SIXTEEN_BIT_MAX))
        return wide.convert("L")
    if "transparency" in image.info:
        return image.convert("RGBA")
    return image
