"""Load time of a generated manifest (persons x photos), cold and with a warm hash cache.

    python bench/manifest_bench.py [--persons 1000] [--photos 5] [--globs]

Prints one line per load. The photos are small random PNGs, each one unique.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from facesync.manifest.load import load_manifest


def _png(rng: random.Random) -> bytes:
    pixels = bytes(rng.getrandbits(8) for _ in range(48 * 48 * 3))
    out = io.BytesIO()
    Image.frombytes("RGB", (48, 48), pixels).save(out, "PNG")
    return out.getvalue()


def build(folder: Path, persons: int, photos: int, globs: bool) -> Path:
    rng = random.Random(7)
    past = time.time_ns() - 3600 * 10**9  # older than the cache's racy window
    lines = ["version: 1", "groups:", "  bench:", "    name: Bench", "    persons:"]
    for p in range(persons):
        key = f"p{p:05d}"
        (folder / "faces" / key).mkdir(parents=True)
        lines += [f"      {key}:", f"        name: Person {p}", "        faces:"]
        for i in range(photos):
            image = folder / "faces" / key / f"{i:02d}.png"
            image.write_bytes(_png(rng))
            os.utime(image, ns=(past, past))
            if not globs:
                lines.append(f"          - faces/{key}/{i:02d}.png")
        if globs:
            lines.append(f"          - faces/{key}/*.png")
    manifest = folder / "facesync.yaml"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--photos", type=int, default=5)
    parser.add_argument("--globs", action="store_true", help="one glob per person")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        manifest = build(Path(temp), args.persons, args.photos, args.globs)
        size = f"{args.persons} persons x {args.photos} photos"
        for label in ("cold", "warm", "warm"):
            start = time.perf_counter()
            loaded = load_manifest(manifest)
            took = time.perf_counter() - start
            faces = sum(len(p.faces) for g in loaded.groups for p in g.persons)
            print(f"{label:>5}: {size} ({faces} faces): {took:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
