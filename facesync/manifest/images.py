"""Local image checks with Pillow: the Face API's format, size and dimension
rules, applied before any call so a bad photo fails in `plan`, not halfway
through `apply`."""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from facesync.errors import FacesyncError
from facesync.limits import (
    FACE_MIN_PX,
    IMAGE_FORMATS,
    IMAGE_MAX_BYTES,
    IMAGE_MAX_PIXELS,
    IMAGE_MIN_BYTES,
)

# Pillow names some camera JPEGs (multi-picture files) "MPO"; the service takes them as JPEG.
_FORMAT_ALIASES = {"MPO": "JPEG"}
_FORMATS_TEXT = "JPEG, PNG, GIF or BMP"
_OPEN_MUTEX = threading.Lock()


@dataclass(frozen=True)
class ImageInfo:
    format: str  # one of limits.IMAGE_FORMATS
    width: int
    height: int


class ImageProblem(FacesyncError):
    """An image the Face API would refuse; the message says what to fix."""


def size_problem(size: int) -> str | None:
    """What is wrong with a file of `size` bytes, or None (usable from a stat alone)."""
    if size == 0:
        return f"the file is empty (0 bytes): replace it with a {_FORMATS_TEXT} photo"
    if size < IMAGE_MIN_BYTES:
        return (
            f"the file is {size:,} bytes, below the Face API's minimum of "
            f"{IMAGE_MIN_BYTES:,} bytes: use a larger photo"
        )
    if size > IMAGE_MAX_BYTES:
        return (
            f"the file is {size:,} bytes, above the Face API's limit of "
            f"{IMAGE_MAX_BYTES:,} bytes (6 MB): shrink or recompress it"
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

    The image is fully decoded (the first frame of a GIF), so a truncated file
    fails here rather than on the server.
    """
    problem = size_problem(len(data))
    if problem:
        raise ImageProblem(problem)
    try:
        with _open(data) as img:
            width, height = img.size
            problem = dimensions_problem(width, height)
            if problem:
                raise ImageProblem(problem)
            img.load()
            found = _FORMAT_ALIASES.get(img.format or "", img.format or "")
    except ImageProblem:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageProblem(
            f"the image declares more than the {IMAGE_MAX_PIXELS // 1_000_000} megapixels "
            "facesync accepts (a guard against decompression bombs): resize it"
        ) from None
    except UnidentifiedImageError:
        raise ImageProblem(
            f"the content is not a {_FORMATS_TEXT} image, whatever its name says: "
            "convert it to one of those formats"
        ) from None
    except Exception:  # noqa: BLE001 - corrupt input makes Pillow's decoders raise many types
        raise ImageProblem(
            "the image cannot be decoded (truncated or corrupt): replace it with an intact copy"
        ) from None
    if found not in IMAGE_FORMATS:
        raise ImageProblem(f"the image format {found} is not {_FORMATS_TEXT}: convert it")
    return ImageInfo(found, width, height)


def _open(data: bytes) -> Image.Image:
    """Open (read the header only), with Pillow's bomb warning made an error.

    Pillow only warns between its own pixel limit and twice that. The warning
    filters are process-wide, so the lock keeps concurrent checks from undoing
    each other's filter; decoding happens after, outside the lock.
    """
    with _OPEN_MUTEX, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)


def check_target_face(info: ImageInfo, target: tuple[int, int, int, int]) -> str | None:
    """Why `target` (left, top, width, height) does not fit the image, or None."""
    left, top, width, height = target
    if left < 0 or top < 0 or width <= 0 or height <= 0:
        return (
            f"targetFace {list(target)} is invalid: use [left, top, width, height] "
            "with left and top 0 or more and width and height 1 or more"
        )
    if left + width > info.width or top + height > info.height:
        return (
            f"targetFace {list(target)} reaches outside the {info.width}x{info.height} image: "
            f"keep left + width <= {info.width} and top + height <= {info.height}"
        )
    return None
