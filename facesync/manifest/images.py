"""Local image checks: the Face API's format, size and dimension rules, applied
before any call so a bad photo fails in `plan`, not halfway through `apply`.

Which files the service takes and how it decodes them is `facesync.image_rules`,
the code the emulator runs too; this module words its refusals as what to fix.
A photo above the service's 6 MB or its largest side is not refused: it is sent
as a downscaled copy (`facesync.image_fit`), so only files beyond what facesync
reads to downscale are.
"""

from __future__ import annotations

from dataclasses import dataclass

from facesync.errors import FacesyncError
from facesync.face_rules import target_inside_image, target_is_valid
from facesync.image_fit import SOURCE_MAX_BYTES, needs_downscale
from facesync.image_rules import (
    FORMATS_TEXT,
    ImageRefusal,
    Reason,
    byte_size_refusal,
    decode_first_frame,
    open_image,
)
from facesync.limits import FACE_MIN_PX, IMAGE_MAX_PIXELS, IMAGE_MIN_BYTES

_BOMB = (
    f"the image declares more than the {IMAGE_MAX_PIXELS // 1_000_000} megapixels "
    "facesync accepts (a guard against decompression bombs): resize it"
)
_REFUSALS = {
    Reason.TOO_MANY_PIXELS: _BOMB,
    Reason.NOT_AN_IMAGE: (
        f"the content is not a {FORMATS_TEXT} image, whatever its name says: "
        "convert it to one of those formats"
    ),
    Reason.CORRUPT: (
        "the image cannot be decoded (truncated or corrupt): replace it with an intact copy"
    ),
}


@dataclass(frozen=True)
class ImageInfo:
    format: str  # the service's name: a value of image_rules.SERVICE_FORMATS
    width: int
    height: int

    def downscaled_from(self, size_bytes: int) -> tuple[int, int] | None:
        """(width, height) when a file of `size_bytes` with this image is sent as a
        downscaled copy (facesync.image_fit), else None: DesiredFace.downscaled_from."""
        if needs_downscale(size_bytes, self.width, self.height):
            return self.width, self.height
        return None


class ImageProblem(FacesyncError):
    """An image the Face API would refuse; the message says what to fix."""


def size_problem(size: int) -> str | None:
    """What is wrong with a file of `size` bytes, or None (usable from a stat alone).
    Above the service's 6 MB is fine: such a photo is sent downscaled."""
    if size == 0:
        return f"the file is empty (0 bytes): replace it with a {FORMATS_TEXT} photo"
    if byte_size_refusal(size) is Reason.TOO_SMALL:
        return (
            f"the file is {size:,} bytes, below the Face API's minimum of "
            f"{IMAGE_MIN_BYTES:,} bytes: use a larger photo"
        )
    if size > SOURCE_MAX_BYTES:
        return (
            f"the file is {size:,} bytes, more than the {SOURCE_MAX_BYTES // 2**20} MB "
            "facesync reads to downscale a photo: export a smaller copy of it"
        )
    return None


def dimensions_problem(width: int, height: int) -> str | None:
    """What is wrong with an image of width x height pixels, or None."""
    if width < FACE_MIN_PX or height < FACE_MIN_PX:
        return (
            f"the image is {width}x{height} pixels, too small to hold a detectable "
            f"{FACE_MIN_PX}x{FACE_MIN_PX} face: use a larger photo"
        )
    if width * height > IMAGE_MAX_PIXELS:
        return (
            f"the image is {width}x{height} pixels, more than the "
            f"{IMAGE_MAX_PIXELS // 1_000_000} megapixels facesync accepts "
            "(a guard against decompression bombs): resize it"
        )
    return None


def check_image_bytes(data: bytes) -> ImageInfo:
    """Check an image as the Face API would; raise ImageProblem when it would refuse it.

    The image is decoded exactly as the emulator decodes it for detection (the
    first frame of a GIF or an MPO), so a truncated file fails here rather than
    on the server.
    """
    problem = size_problem(len(data))
    if problem:
        raise ImageProblem(problem)
    try:
        image, found = open_image(data)
    except ImageRefusal as exc:
        pixels = exc.size if exc.reason is Reason.TOO_MANY_PIXELS else None
        problem = dimensions_problem(*pixels) if pixels else None
        raise ImageProblem(problem or _REFUSALS[exc.reason]) from None
    with image:
        width, height = image.size
        problem = dimensions_problem(width, height)
        if problem:
            raise ImageProblem(problem)
        try:
            decode_first_frame(image)  # conversion to RGB works for every mode a file can have
        except ImageRefusal as exc:
            raise ImageProblem(_REFUSALS[exc.reason]) from None
    return ImageInfo(found, width, height)


def check_target_face(info: ImageInfo, target: tuple[int, int, int, int]) -> str | None:
    """Why `target` (left, top, width, height) does not fit the image, or None."""
    if not target_is_valid(target):
        return (
            f"targetFace {list(target)} is invalid: use [left, top, width, height] "
            "with left and top 0 or more and width and height 1 or more"
        )
    if not target_inside_image(target, (info.width, info.height)):
        return (
            f"targetFace {list(target)} reaches outside the {info.width}x{info.height} image: "
            f"keep left + width <= {info.width} and top + height <= {info.height}"
        )
    return None
