"""The image and face rules of Add Face and Detect."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image

from .support import (
    PERSON_GROUP,
    Api,
    Photos,
    create_group,
    create_person,
    detect,
    encode,
    expect_error,
    expect_json,
    noise_image,
    place_on_canvas,
)

OBAMA = "people/barack_obama/obama_2012-12-06_official-portrait.jpg"
TWO_FACES = "groups/group_obama-biden_2010-05-10_composite.jpg"
NO_FACE = "no_face/coffee-cup.jpg"
SIX_MB = 6 * 1024 * 1024
UNDECODABLE = ("InvalidImage", "Decoding error, image format unsupported.")


@pytest.fixture
def faces_url(api: Api) -> str:
    kind = PERSON_GROUP
    group = create_group(api, kind)
    return kind.path(group, "persons", create_person(api, kind, group), "persistedfaces")


def face_count(api: Api, faces_url: str) -> int:
    person_url = faces_url.rsplit("/", 1)[0]
    return len(expect_json(api.get(person_url))["persistedFaceIds"])


def as_format(photo: bytes, fmt: str) -> bytes:
    image = Image.open(io.BytesIO(photo))
    if fmt == "GIF":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    return encode(image, fmt)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP"])
def test_jpeg_png_gif_and_bmp_are_accepted(
    api: Api, faces_url: str, photos: Photos, fmt: str
) -> None:
    expect_json(api.post_image(faces_url, as_format(photos.small_face, fmt)))
    assert face_count(api, faces_url) == 1


def test_an_animated_gif_is_read_by_its_first_frame(
    api: Api, faces_url: str, photos: Photos
) -> None:
    face = Image.open(io.BytesIO(photos.small_face)).convert("RGB")
    blank = Image.new("RGB", face.size, (90, 90, 90))
    out = io.BytesIO()
    face.save(out, "GIF", save_all=True, append_images=[blank, blank], duration=100)
    expect_json(api.post_image(faces_url, out.getvalue()))
    assert face_count(api, faces_url) == 1


@pytest.mark.parametrize("fmt", ["WEBP", "TIFF"])
def test_formats_outside_the_four_are_refused_by_content(
    api: Api, faces_url: str, photos: Photos, fmt: str
) -> None:
    expect_error(api.post_image(faces_url, as_format(photos.small_face, fmt)), 400, *UNDECODABLE)
    assert face_count(api, faces_url) == 0


def test_bytes_that_are_no_image_are_refused(api: Api, faces_url: str) -> None:
    expect_error(api.post_image(faces_url, b"this is not an image. " * 100), 400, *UNDECODABLE)


def test_a_truncated_jpeg_is_refused_without_a_500(
    api: Api, faces_url: str, photos: Photos
) -> None:
    photo = photos.bytes(OBAMA)
    resp = api.post_image(faces_url, photo[: len(photo) // 3])
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "InvalidImage"


def test_an_image_under_1_kb_is_too_small(api: Api, faces_url: str) -> None:
    tiny = encode(Image.new("RGB", (8, 8), (200, 150, 120)), "JPEG")
    assert len(tiny) < 1024
    expect_error(
        api.post_image(faces_url, tiny), 400, "InvalidImageSize", "Image size is too small."
    )


def test_an_image_over_6_mb_is_too_big(api: Api, faces_url: str, photos: Photos) -> None:
    photo = photos.bytes(OBAMA)
    padded = photo + b"\0" * (SIX_MB + 1 - len(photo))
    expect_error(
        api.post_image(faces_url, padded), 400, "InvalidImageSize", "Image size is too big."
    )


def test_an_image_of_exactly_6_mb_is_accepted(api: Api, faces_url: str, photos: Photos) -> None:
    photo = photos.bytes(OBAMA)  # JPEG decoders ignore bytes after the end marker
    expect_json(api.post_image(faces_url, photo + b"\0" * (SIX_MB - len(photo))))
    assert face_count(api, faces_url) == 1


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_chunked_upload_is_accepted(api: Api, faces_url: str, photos: Photos) -> None:
    resp = api.call(
        "POST",
        faces_url,
        data=chunks(photos.bytes(OBAMA)),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert resp.request.headers.get("Transfer-Encoding") == "chunked"
    expect_json(resp)
    assert face_count(api, faces_url) == 1


def test_a_chunked_upload_over_6_mb_is_too_big(api: Api, faces_url: str, photos: Photos) -> None:
    photo = photos.bytes(OBAMA)
    resp = api.call(
        "POST",
        faces_url,
        data=chunks(photo + b"\0" * (SIX_MB + 1 - len(photo))),
        headers={"Content-Type": "application/octet-stream"},
    )
    expect_error(resp, 400, "InvalidImageSize", "Image size is too big.")


def test_a_photo_without_a_face_is_refused(api: Api, faces_url: str, photos: Photos) -> None:
    resp = api.post_image(faces_url, photos.bytes(NO_FACE))
    expect_error(resp, 400, "InvalidImage", "No face detected in the image.")


def test_a_face_far_below_36_px_is_not_detected(api: Api, faces_url: str, photos: Photos) -> None:
    # The whole portrait shrunk to 40 px: its face is about 10 px wide.
    image = place_on_canvas(photos.bytes(OBAMA), 40, (400, 400))
    expect_error(
        api.post_image(faces_url, image), 400, "InvalidImage", "No face detected in the image."
    )
    assert detect(api, image) == []


def test_a_face_of_about_40_px_is_found(api: Api, photos: Photos) -> None:
    # The portrait at 180 px: dlib's box around its face is about 40 px wide.
    image = place_on_canvas(photos.bytes(OBAMA), 180, (500, 500))
    faces = detect(api, image)
    assert len(faces) == 1
    assert 30 <= faces[0]["faceRectangle"]["width"] <= 60


def test_two_faces_without_target_face_are_refused(
    api: Api, faces_url: str, photos: Photos
) -> None:
    resp = api.post_image(faces_url, photos.bytes(TWO_FACES))
    expect_error(resp, 400, "InvalidImage", "There is more than 1 face in the image.")


def rect_param(rect: dict[str, int]) -> str:
    return f"{rect['left']},{rect['top']},{rect['width']},{rect['height']}"


def test_target_face_picks_each_face_of_a_group_photo(
    api: Api, faces_url: str, photos: Photos
) -> None:
    image = photos.bytes(TWO_FACES)
    rects = [face["faceRectangle"] for face in detect(api, image)]
    assert len(rects) == 2
    for rect in rects:
        expect_json(api.post_image(faces_url, image, targetFace=rect_param(rect)))
    assert face_count(api, faces_url) == 2


def test_a_target_face_around_both_faces_is_still_more_than_one(
    api: Api, faces_url: str, photos: Photos
) -> None:
    image = photos.bytes(TWO_FACES)
    width, height = Image.open(io.BytesIO(image)).size
    resp = api.post_image(faces_url, image, targetFace=f"0,0,{width},{height}")
    expect_error(resp, 400, "InvalidImage", "There is more than 1 face in the image.")


def test_a_target_face_on_empty_background_finds_no_face(
    api: Api, faces_url: str, photos: Photos
) -> None:
    image = place_on_canvas(photos.bytes(OBAMA), 150, (600, 600))  # face near (200..350)
    resp = api.post_image(faces_url, image, targetFace="450,450,120,120")
    expect_error(resp, 400, "InvalidImage", "No face detected in the image.")


@pytest.mark.parametrize("target", ["1,2,3", "a,b,c,d", "1,2,3,4,5", "10;10;50;50", "1.5,2,3,4"])
def test_a_malformed_target_face_is_refused(
    api: Api, faces_url: str, photos: Photos, target: str
) -> None:
    resp = api.post_image(faces_url, photos.bytes(OBAMA), targetFace=target)
    expect_error(resp, 400, "BadArgument", "Invalid argument targetFace.")


@pytest.mark.parametrize(
    "target",
    ["{w}0,10,100,100", "10,{h}0,100,100", "{w_less},10,100,100", "10,10,100,{h}"],
    ids=["right-of", "below", "across-right-edge", "across-bottom-edge"],
)
def test_a_target_face_outside_the_image_is_out_of_range(
    api: Api, faces_url: str, photos: Photos, target: str
) -> None:
    image = photos.bytes(OBAMA)
    width, height = Image.open(io.BytesIO(image)).size
    target = target.format(w=width, h=height, w_less=width - 50)
    resp = api.post_image(faces_url, image, targetFace=target)
    expect_error(resp, 400, "BadArgument", "Argument targetFace out of range.")
    assert face_count(api, faces_url) == 0


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (b"this is not an image. " * 100, UNDECODABLE),
        (
            encode(Image.new("RGB", (8, 8), (200, 150, 120)), "JPEG"),
            ("InvalidImageSize", "Image size is too small."),
        ),
    ],
    ids=["undecodable", "too-small"],
)
def test_detect_applies_the_same_image_rules(
    api: Api, image: bytes, error: tuple[str, str]
) -> None:
    expect_error(api.post_image("/detect", image), 400, *error)


def test_detect_refuses_an_image_over_6_mb(api: Api, photos: Photos) -> None:
    photo = photos.bytes(OBAMA)
    resp = api.post_image("/detect", photo + b"\0" * (SIX_MB + 1 - len(photo)))
    expect_error(resp, 400, "InvalidImageSize", "Image size is too big.")


def test_noise_is_an_image_without_faces(api: Api) -> None:
    assert detect(api, encode(noise_image(300, 300), "PNG")) == []
