"""Warm load time and peak RSS of a large manifest, in both forms.

    python bench/manifest_bench.py [--persons 100000] [--photos 5] [--repeat 3] [--cold]
                                   [--dir /tmp/facesync-manifest-bench] [--profile FORM]
                                   [--floors]

Writes (once, then reuses) a gallery under --dir: N person folders of small,
distinct PNGs (one noise image with a different text chunk each) and two
manifests that describe the same persons and faces:

- `inline.yaml`: every person and every image path written out in the YAML;
- `folder.yaml`: `personsFrom: {folder: people, details: people.csv}`.

The hash cache beside them is filled through facesync's own HashCache (the
bytes' SHA-256 and the image's size, as a cold load would store them), so each
load is a warm plan's: every file exists and is stat-ed, nothing is decoded.
Each form is loaded in a fresh process: the first load, the best of --repeat,
and that process's peak RSS. --cold also times one cold load (every image read
and decoded) on a copy of the cache-less folder layout. --profile prints the
top of a cProfile of one warm load of that form. --floors times what no warm
load can skip: an lstat of every photo (the hash cache's check), a listing of
every person folder (the folder form) and reading the hash cache.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import random
import resource
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

from PIL import Image

from facesync.manifest.hash_cache import HashCache
from facesync.manifest.images import ImageInfo
from facesync.manifest.load import load_manifest

REPO = Path(__file__).resolve().parent.parent
SIZE = 24  # pixels: 24 x 24 x 3 noise bytes keep every file above the 1 KB minimum


def _template() -> tuple[bytes, bytes]:
    """A noise PNG split after its IHDR chunk, where each copy gets its own tEXt."""
    pixels = random.Random(7).randbytes(SIZE * SIZE * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (SIZE, SIZE), pixels).save(out, "PNG")
    data = out.getvalue()
    cut = 8 + 25  # signature + IHDR chunk
    return data[:cut], data[cut:]


def _text_chunk(label: str) -> bytes:
    body = b"Comment\0" + label.encode()
    return struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(
        ">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF
    )


def build(folder: Path, persons: int, photos: int) -> None:
    stamp = folder / "built.json"
    wanted = {"persons": persons, "photos": photos, "size": SIZE}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    head, tail = _template()
    past = time.time_ns() - 3600 * 10**9  # older than the cache's racy window
    cache = HashCache(folder)
    info = ImageInfo("PNG", SIZE, SIZE)
    inline = ["version: 1", "groups:", "  bench:", "    name: Bench",
              "    kind: largePersonGroup", "    persons:"]
    details = ["key,name,userData"]
    for p in range(persons):
        key = f"p{p:06d}"
        (folder / "people" / key).mkdir(parents=True)
        inline += [f"      {key}:", f"        name: Person {p}", "        faces:"]
        details.append(f"{key},Person {p},")
        for i in range(photos):
            rel = f"people/{key}/{i:02d}.png"
            data = head + _text_chunk(rel) + tail
            image = folder / rel
            image.write_bytes(data)
            os.utime(image, ns=(past, past))
            cache.store(rel, os.stat(image), hashlib.sha256(data).hexdigest(), info)
            inline.append(f"          - {rel}")
    cache.save()
    (folder / "inline.yaml").write_text("\n".join(inline) + "\n")
    (folder / "people.csv").write_text("\n".join(details) + "\n")
    (folder / "folder.yaml").write_text(
        "version: 1\ngroups:\n  bench:\n    name: Bench\n    kind: largePersonGroup\n"
        "    personsFrom:\n      folder: people\n      details: people.csv\n"
    )
    stamp.write_text(json.dumps(wanted))


def child(manifest: Path, repeat: int) -> None:
    """One process: time `repeat` loads, then print one JSON line."""
    times = []
    faces = 0
    for _ in range(repeat):
        start = time.perf_counter()
        loaded = load_manifest(manifest)
        times.append(time.perf_counter() - start)
        faces = sum(len(p.faces) for g in loaded.groups for p in g.persons)
        persons = sum(len(g.persons) for g in loaded.groups)
        del loaded
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"times": times, "faces": faces, "persons": persons, "rss_mb": rss_mb}))


def measure(manifest: Path, repeat: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(manifest), "--repeat", str(repeat)],
        env=env, capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        sys.exit(f"loading {manifest.name} failed:\n{out.stdout}{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold(folder: Path) -> float:
    """One cold load of the folder form, on a copy without the hash cache."""
    copy = folder.parent / (folder.name + "-cold")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(".facesync"))
    try:
        start = time.perf_counter()
        load_manifest(copy / "folder.yaml")
        return time.perf_counter() - start
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def floors(folder: Path) -> None:
    """The system calls and the cache read a warm load makes in any case, timed bare."""
    people = sorted(e.path for e in os.scandir(folder / "people"))
    photos = [os.path.join(p, n) for p in people for n in sorted(os.listdir(p))]
    timed = {
        f"lstat of {len(photos):,} photos": lambda: [os.lstat(p) for p in photos],
        f"listdir of {len(people):,} person folders": lambda: [os.listdir(p) for p in people],
        "hash cache read": lambda: HashCache(folder),
    }
    for label, run in timed.items():
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        print(f"  floor: {label}: {best:.2f} s")


def profile(manifest: Path) -> None:
    load_manifest(manifest)  # the first load warms the page cache
    profiler = cProfile.Profile()
    profiler.enable()
    load_manifest(manifest)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--photos", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--cold", action="store_true", help="also time one cold load")
    parser.add_argument("--profile", choices=["inline", "folder"])
    parser.add_argument("--floors", action="store_true", help="also time the system-call floor")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.repeat)
        return 0
    folder = args.dir or Path(f"/tmp/facesync-manifest-bench-{args.persons}x{args.photos}")
    start = time.perf_counter()
    build(folder, args.persons, args.photos)
    print(f"gallery in {folder} ready in {time.perf_counter() - start:.1f} s")
    if args.profile:
        profile(folder / f"{args.profile}.yaml")
        return 0
    size = f"{args.persons:,} persons x {args.photos} photos"
    for form in ("inline", "folder"):
        result = measure(folder / f"{form}.yaml", args.repeat)
        first, best = result["times"][0], min(result["times"])
        print(
            f"{form:>6}: {size} ({result['persons']:,} persons, {result['faces']:,} faces): "
            f"warm load {first:.2f} s first, {best:.2f} s best of {args.repeat}; "
            f"peak RSS {result['rss_mb']:.0f} MB"
        )
    if args.floors:
        floors(folder)
    if args.cold:
        print(f"  cold: folder form, every image read and decoded: {cold(folder):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
