"""Builders for manifest tests: small synthetic images (good and bad ones), the
repository's sample photos, and manifests written into a temporary folder."""

from __future__ import annotations

import io
import os
import random
import shutil
import struct
import textwrap
import time
import zlib
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[3]
SAMPLE_PEOPLE = REPO / "manifests" / "faces" / "people"
PAST_NS = time.time_ns() - 3600 * 10**9  # older than the hash cache's racy window


def noise_image(width: int = 64, height: int = 64, fmt: str = "PNG", seed: int = 1) -> bytes:
    """Random pixels: incompressible, so even small images pass the 1 KB minimum."""
    rng = random.Random(seed)
    pixels = rng.randbytes(width * height * 3)
    image = Image.frombytes("RGB", (width, height), pixels)
    out = io.BytesIO()
    if fmt == "GIF":
        frames = [image, Image.frombytes("RGB", (width, height), pixels[::-1])]
        frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    else:
        image.save(out, fmt)
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    padding = chunk(b"tEXt", b"Comment\0" + b"x" * 2048)
    idat = chunk(b"IDAT", zlib.compress(b"\0" * 4096))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + padding + idat + chunk(b"IEND", b"")


def write_image(folder: Path, rel: str, data: bytes | None = None, *, seed: int = 1) -> Path:
    """Write an image (a fresh noise PNG by default) with an mtime in the past."""
    target = folder / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(noise_image(seed=seed) if data is None else data)
    age(target)
    return target


def age(path: Path, ns: int = PAST_NS) -> None:
    os.utime(path, ns=(ns, ns))


def copy_sample(folder: Path, person: str, rel: str) -> Path:
    """Copy the first sample photo of `person` from the repository to `folder/rel`."""
    source = sorted((SAMPLE_PEOPLE / person).glob("*.jpg"))[0]
    target = folder / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    age(target)
    return target


def write_manifest(folder: Path, text: str, name: str = "facesync.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def one_person(faces_yaml: str, extra: str = "") -> str:
    """A manifest with group `staff` and person `alice` whose faces list is `faces_yaml`."""
    return (
        "version: 1\n"
        "groups:\n"
        "  staff:\n"
        "    name: Staff\n"
        "    persons:\n"
        "      alice:\n"
        "        faces:\n"
        + textwrap.indent(textwrap.dedent(faces_yaml).strip("\n"), " " * 10)
        + "\n"
        + extra
    )
