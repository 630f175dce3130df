"""Shared fixtures: the repository's sample photos, downscaled once per session
so detection stays quick in tests."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from PIL import Image


def pytest_configure(config: pytest.Config) -> None:
    """A CI job started in the background runs with SIGINT ignored, and every
    process it starts inherits that: the tests that press Ctrl-C on facesync
    need it delivered, so the suite takes the default handling back."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parent.parent
SAMPLE_FACES = REPO / "manifests" / "faces"


def downscale(src: Path, dest: Path, long_side: int = 400) -> Path:
    """Save a smaller JPEG copy of `src` at `dest` (EXIF-free, quality 90)."""
    with Image.open(src) as img:
        img = img.convert("RGB")
        scale = long_side / max(img.size)
        if scale < 1:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
        dest.parent.mkdir(parents=True, exist_ok=True)
        img.save(dest, "JPEG", quality=90)
    return dest


@pytest.fixture(scope="session")
def small_faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder mirroring manifests/faces/people with 400 px copies."""
    root = tmp_path_factory.mktemp("small-faces")
    for src in sorted((SAMPLE_FACES / "people").glob("*/*.jpg")):
        downscale(src, root / src.parent.name / src.name)
    return root
