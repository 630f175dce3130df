"""Image checks and decoding as the Face API does them, safe against hostile files.

The rules themselves (formats, byte sizes, the decompression-bomb guard, how
pixels become the 8-bit RGB detection sees) are `facesync.image_rules`, shared
with the client's manifest checks; this module turns their refusals into the
service's errors. EXIF orientation is not applied: like the service,
rectangles are in the stored pixel grid.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from facesync.emulator import errors
from facesync.emulator.errors import ErrorSpec
from facesync.errors import FacesyncError
from facesync.image_rules import (
    DETECTION_MAX_SIDE,
    ImageRefusal,
    Reason,
    byte_size_refusal,
    detection_pixels,
    open_image,
)

__all__ = ["DETECTION_MAX_SIDE", "ImageRefused", "Picture", "check_size", "decode"]


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
    reason = byte_size_refusal(len(data))
    if reason is Reason.TOO_SMALL:
        raise ImageRefused(errors.IMAGE_TOO_SMALL)
    if reason is Reason.TOO_BIG:
        raise ImageRefused(errors.IMAGE_TOO_BIG)


def decode(data: bytes, max_side: int = DETECTION_MAX_SIDE) -> Picture:
    """Decode JPEG (an MPO's first picture too)/PNG/GIF (first frame)/BMP; anything
    else, a bomb or a corrupt file is unsupported."""
    try:
        image, _ = open_image(data)
    except ImageRefusal:
        raise ImageRefused(errors.IMAGE_UNSUPPORTED) from None
    with image:
        width, height = image.size
        try:
            pixels = detection_pixels(image, max_side)
        except ImageRefusal:
            raise ImageRefused(errors.IMAGE_UNSUPPORTED) from None
    return Picture(width=width, height=height, rgb=pixels.rgb, scale=pixels.scale)
