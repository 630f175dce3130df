"""Photos above the Face API's limits, sent as a downscaled JPEG instead of refused.

A phone photo is often more than the service's 6 MB, or wider than the largest
image side facesync sends as it is. Such a photo is still the face the manifest
names: its identity stays the SHA-256 of the original file (the lock, the hash
cache and the plan name the original), and only the bytes of the add-face call
are a copy made here. The copy is made deterministically (the same bytes in
give the same bytes out with the same Pillow): the first frame, EXIF
orientation applied (the copy carries no metadata, so its pixels must stand
upright on their own), Lanczos resampling to SEND_MAX_SIDE on the longest side,
JPEG quality SEND_QUALITY with 4:2:0 chroma, no EXIF, ICC profile or comment;
smaller again while it exceeds SEND_BUDGET_BYTES.

A `targetFace` is written in the original's pixel grid (as the manifest's
checks and the detector see the file); `Sendable.target_face` maps it onto the
copy's grid, rotated and scaled as the pixels were.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image

from facesync.image_rules import SERVICE_FORMATS, ImageRefusal, Reason, eight_bit, open_image
from facesync.limits import FACE_MIN_PX, IMAGE_MAX_BYTES

# The longest side of a photo sent as it is: the largest face the service detects
# (the contract: 36x36 .. 4096x4096 px). Above 1920x1080 its smallest detectable
# face grows with the image, so a copy of 1920 px loses no face it would find.
SERVICE_MAX_SIDE = 4096
SEND_MAX_SIDE = 1920  # the copy's longest side
SEND_QUALITY = 90
SEND_BUDGET_BYTES = IMAGE_MAX_BYTES * 2 // 3  # 4 MB: a margin under the 6 MB limit
_SHRINK = 0.75  # each further step when a copy is still above the budget
# The largest file facesync reads to downscale: above any camera's photo, so a
# video or disk image named .jpg is refused before it is read.
SOURCE_MAX_BYTES = 64 * 1024 * 1024
_EXIF_ORIENTATION = 0x0112
# EXIF orientation -> the transpose that makes the pixels upright (as ImageOps.exif_transpose)
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = {Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_270,
               Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90}

TargetFace = tuple[int, int, int, int]  # left, top, width, height


def needs_downscale(size_bytes: int, width: int, height: int) -> bool:
    """Whether a photo of this size and these dimensions is sent as a downscaled copy
    (cheap: what the manifest's checks already know, no decoding)."""
    return size_bytes > IMAGE_MAX_BYTES or max(width, height) > SERVICE_MAX_SIDE


@dataclass(frozen=True)
class Geometry:
    """How a copy's pixel grid relates to its original's."""

    original: tuple[int, int]  # the file's pixel grid (width, height)
    upright: Image.Transpose | None  # applied to the original's pixels
    sent: tuple[int, int]  # the copy's size


@dataclass(frozen=True)
class Sendable:
    """The bytes an add-face call sends for a photo, and how its grid relates to
    the original's (`geometry` None: the original itself)."""

    data: bytes
    geometry: Geometry | None = None

    @property
    def downscaled(self) -> bool:
        return self.geometry is not None

    def target_face(self, target: TargetFace | None) -> TargetFace | None:
        """`target` (in the original's grid) in the grid of the bytes sent."""
        if target is None or self.geometry is None:
            return target
        return _map_target(target, self.geometry)

    def box_in_original(self, box: TargetFace) -> TargetFace:
        """A box found in the bytes sent (a detected face) in the original's grid,
        where the manifest's targetFace is written."""
        if self.geometry is None:
            return box
        return _unmap_box(box, self.geometry)


def to_send(data: bytes) -> Sendable:
    """The photo as the service takes it: `data` itself when it fits the limits
    (or cannot be opened: the service then refuses it in its own words), else
    a downscaled JPEG copy."""
    try:
        image, _ = open_image(data)
    except ImageRefusal:
        return Sendable(data)
    with image:
        if not needs_downscale(len(data), *image.size):
            return Sendable(data)
        try:
            return _downscaled(image)
        except ImageRefusal:
            return Sendable(data)


def bytes_to_send(data: bytes) -> bytes:
    """`data` when it fits the service's limits, else its downscaled JPEG copy."""
    return to_send(data).data


def _downscaled(image: Image.Image) -> Sendable:
    width, height = image.size
    upright = _UPRIGHT.get(_orientation(image))
    side = min(SEND_MAX_SIDE, max(width, height))
    pixels = _decoded(image, _fitted((width, height), side))
    while True:
        size = _fitted((width, height), side)
        data = _encode(pixels, size, upright)
        if len(data) <= SEND_BUDGET_BYTES or side <= FACE_MIN_PX:
            break
        side = max(FACE_MIN_PX, int(side * _SHRINK))
    sent = (size[1], size[0]) if upright in _SWAPS_AXES else size
    return Sendable(data, Geometry((width, height), upright, sent))


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block is no orientation
        return 1
    return value if isinstance(value, int) else 1


def _fitted(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`size` scaled so that its longest side is `side` (never enlarged)."""
    width, height = size
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decoded(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """The first frame in 8-bit RGB (or L), a big JPEG decoded at a reduced scale
    no smaller than `target`; transparency laid on white."""
    try:
        if SERVICE_FORMATS.get(image.format or "") == "JPEG":
            image.draft("RGB", target)
        image.seek(0)
        image.load()
        pixels = eight_bit(image)
        if pixels.mode not in ("RGB", "L"):
            rgba = pixels.convert("RGBA")
            pixels = Image.new("RGB", rgba.size, (255, 255, 255))
            pixels.paste(rgba, mask=rgba.getchannel("A"))
    except Exception:  # noqa: BLE001 - corrupt pixel data makes decoders raise many types
        raise ImageRefusal(Reason.CORRUPT) from None
    return pixels


def _encode(pixels: Image.Image, size: tuple[int, int], upright: Image.Transpose | None) -> bytes:
    picture = pixels if pixels.size == size else pixels.resize(size, Image.Resampling.LANCZOS)
    if upright is not None:
        picture = picture.transpose(upright)
    picture.info = {}  # no comment, EXIF or ICC profile is carried over
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=SEND_QUALITY, subsampling="4:2:0", optimize=False,
                 progressive=False)
    return out.getvalue()


def _map_target(target: TargetFace, geometry: Geometry) -> TargetFace:
    """The box rotated as the pixels were, then scaled to the copy, rounded outwards
    (add-face takes the face whose centre lies inside the box: never lose it)."""
    left, top, w, h = _transposed(target, geometry.original, geometry.upright)
    upright_w, upright_h = geometry.original
    if geometry.upright in _SWAPS_AXES:
        upright_w, upright_h = upright_h, upright_w
    sent_w, sent_h = geometry.sent
    sx, sy = sent_w / upright_w, sent_h / upright_h
    x0, y0 = min(sent_w - 1, math.floor(left * sx)), min(sent_h - 1, math.floor(top * sy))
    x1, y1 = min(sent_w, math.ceil((left + w) * sx)), min(sent_h, math.ceil((top + h) * sy))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def _unmap_box(box: TargetFace, geometry: Geometry) -> TargetFace:
    """The inverse of _map_target, to the nearest pixel: scaled back to the upright
    grid, then turned back onto the original's."""
    upright_w, upright_h = geometry.original
    if geometry.upright in _SWAPS_AXES:
        upright_w, upright_h = upright_h, upright_w
    sx, sy = upright_w / geometry.sent[0], upright_h / geometry.sent[1]
    left, top = round(box[0] * sx), round(box[1] * sy)
    right, bottom = round((box[0] + box[2]) * sx), round((box[1] + box[3]) * sy)
    scaled = (left, top, max(1, right - left), max(1, bottom - top))
    upright = geometry.upright
    back = None if upright is None else _UNDO.get(upright, upright)
    return _transposed(scaled, (upright_w, upright_h), back)


# The transpose that undoes each one: the quarter turns undo each other, every
# other transpose undoes itself.
_UNDO = {Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
         Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90}


def _transposed(target: TargetFace, size: tuple[int, int],
                upright: Image.Transpose | None) -> TargetFace:
    """`target` in the grid of the image after `upright` (a flip or quarter turn)."""
    left, top, w, h = target
    width, height = size
    right, bottom = width - left - w, height - top - h  # the margins on the far sides
    if upright is Image.Transpose.FLIP_LEFT_RIGHT:
        return right, top, w, h
    if upright is Image.Transpose.ROTATE_180:
        return right, bottom, w, h
    if upright is Image.Transpose.FLIP_TOP_BOTTOM:
        return left, bottom, w, h
    if upright is Image.Transpose.TRANSPOSE:
        return top, left, h, w
    if upright is Image.Transpose.ROTATE_270:  # a quarter turn clockwise
        return bottom, left, h, w
    if upright is Image.Transpose.TRANSVERSE:
        return bottom, right, h, w
    if upright is Image.Transpose.ROTATE_90:  # a quarter turn counter-clockwise
        return top, right, h, w
    return target
