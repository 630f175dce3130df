"""facesync's own costs at one gallery size: N persons x 5 photos in one large group.

    python bench/scale_bench.py --persons N [--photos 5] [--parallelism 8] [--keep DIR]
                                [--seed-hash-cache]

Starts `facesync serve --tier unlimited` on 127.0.0.1 in its own process, writes
a manifest of N persons whose photos are hard links to five portraits (the
emulator analyses each image once and then answers from its cache, so the
figures are facesync's, not dlib's), then runs the real CLI:

- the cold first load of the manifest (`validate`: every photo hashed and
  decoded once; later loads take the hash cache), timed apart;
- the first `apply --yes --no-wait`: seconds, calls/s, and the client's CPU
  per server call (user+sys of the facesync process / calls) with its peak RSS;
- the lock file: bytes in all and per face;
- a warm no-op `plan` (hash cache warm, server unchanged): seconds and peak RSS;
- the emulator's RSS at the end.

With `--seed-hash-cache` the cold load is skipped: the hash cache is filled
through facesync's own HashCache with the portraits' hashes (at 100,000 x 5 the
cold load alone would decode 500,000 JPEGs, about an hour here).

With `--keep DIR` the gallery and the emulator's data stay in DIR; a later run
with the same DIR skips the load and the apply and measures the no-op plan again
(for profiling one change at a large N without paying for the apply each time).

Every process binds to or talks to 127.0.0.1 only and is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sync_bench import PHOTOS  # bench/ is this script's folder

REPO = Path(__file__).resolve().parent.parent
_URL = re.compile(r"on (http://127\.0\.0\.1:\d+)/face/v1\.0 — key: (\S+)")


def start_server(data: Path, port: int = 0) -> tuple[subprocess.Popen[str], str, str]:
    """The emulator, analysing in its own process (--workers 0): the five portraits
    are analysed once, and idle workers loading dlib would only disturb the figures."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "facesync", "serve", "--tier", "unlimited", "--port", str(port),
         "--data", str(data), "--workers", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = _URL.search(line)
        if match:  # keep reading what it prints, so that its pipe never fills
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, match.group(1), match.group(2)
        if proc.poll() is not None:
            break
    proc.kill()
    sys.exit("the emulator did not start")


def run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds (user+sys), peak RSS (KB) and exit code of one CLI run."""
    # Output goes to files: a pipe nobody reads while waiting would fill and stall it.
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "facesync", *args], cwd=cwd, env=env,
                                stdout=out_file, stderr=err_file)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read().decode(), err_file.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        sys.exit(f"facesync {' '.join(args)} failed ({code}):\n{out[-2000:]}\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, code


LINKS_PER_COPY = 60_000  # a file takes 65,000 hard links at most (ext4)


def portrait(folder: Path, person: int, index: int) -> Path:
    """The copy of portrait `index` that person `person`'s photo links to."""
    return folder / "photos" / str(person // LINKS_PER_COPY) / f"{index}.jpg"


def write_gallery(folder: Path, persons: int, photos: int) -> None:
    for copy in range((persons - 1) // LINKS_PER_COPY + 1):
        (folder / "photos" / str(copy)).mkdir(parents=True)
        for i, rel in enumerate(PHOTOS[:photos]):
            source = REPO / "manifests" / "faces" / rel
            shutil.copyfile(source, portrait(folder, copy * LINKS_PER_COPY, i))
    lines = ["version: 1", "groups:", "  scale:", "    name: Scale",
             "    kind: largePersonGroup", "    persons:"]
    for p in range(persons):
        key = f"p{p:06d}"
        person_dir = folder / "faces" / key
        person_dir.mkdir(parents=True)
        for i in range(photos):  # hard links: distinct paths, shared bytes
            os.link(portrait(folder, p, i), person_dir / f"{i}.jpg")
        lines += [f"      {key}:", f"        faces: [faces/{key}/*.jpg]"]
    (folder / "facesync.yaml").write_text("\n".join(lines) + "\n")


def seed_hash_cache(folder: Path, persons: int, photos: int) -> None:
    """What a first `validate` would leave in `.facesync/hashes.json`, without
    decoding 500,000 hard links of five portraits: each portrait is hashed and
    checked once, and its entry stored for every path that links to it."""
    from facesync.manifest.hash_cache import HashCache
    from facesync.manifest.images import check_image_bytes

    past = time.time_ns() - 3600 * 10**9  # older than the cache's racy window
    portraits = []
    for i in range(photos):
        data = portrait(folder, 0, i).read_bytes()
        portraits.append((hashlib.sha256(data).hexdigest(), check_image_bytes(data)))
    for copy in range((persons - 1) // LINKS_PER_COPY + 1):
        for i in range(photos):  # the links share the copy's mtime
            os.utime(portrait(folder, copy * LINKS_PER_COPY, i), ns=(past, past))
    cache = HashCache(folder)
    for p in range(persons):
        for i, (sha, info) in enumerate(portraits):
            rel = f"faces/p{p:06d}/{i}.jpg"
            cache.store(rel, os.stat(folder / rel), sha, info)
    cache.save()


def kept_port(keep: Path | None) -> int:
    """0 (any free port), or the port a kept gallery's lock was written for."""
    if keep is None:
        return 0
    saved = keep / "port"
    if not saved.exists():
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            saved.write_text(str(probe.getsockname()[1]))
    return int(saved.read_text())


def measure_plan(gallery: Path, env: dict[str, str], server_pid: int) -> None:
    """The warm no-op plan (after one plan that warms the caches) and the emulator's RSS."""
    run(["plan"], gallery, env)
    wall, _, rss, code = run(["plan", "--detailed-exitcode"], gallery, env)
    verdict = "no changes" if code == 0 else "CHANGES LEFT (the apply missed some)"
    print(f"warm no-op plan:  {wall:8.2f} s  peak RSS {rss / 1024:.0f} MB  ({verdict})")
    print(f"emulator RSS:     {rss_kb(server_pid) / 1024:8.0f} MB")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--photos", type=int, default=5, choices=range(1, 6))
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--seed-hash-cache", action="store_true",
                        help="skip the cold load: fill the hash cache through facesync's own "
                             "HashCache with the portraits' hashes (every photo is a hard link)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep (and reuse) the gallery and the emulator data in DIR")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="facesync-scale-")))
        else:
            work = args.keep.resolve()
            work.mkdir(parents=True, exist_ok=True)
        server, url, key = start_server(work / "emulator", kept_port(args.keep))
        try:
            gallery = work / "gallery"
            env = {k: v for k, v in os.environ.items() if not k.startswith("FACESYNC_")}
            env.update(FACESYNC_ENDPOINT=url, FACESYNC_KEY=key, FACESYNC_TIER="unlimited")
            faces = args.persons * args.photos
            calls = 1 + args.persons + faces + 1  # group, persons, faces, train
            if (gallery / "facesync.lock.json").exists():
                print(f"reusing {gallery} (applied before): the no-op plan only")
                measure_plan(gallery, env, server.pid)
                return
            write_gallery(gallery, args.persons, args.photos)
            print(f"{args.persons} persons x {args.photos} photos = {calls} calls, "
                  f"parallelism {args.parallelism}")
            if args.seed_hash_cache:
                seed_hash_cache(gallery, args.persons, args.photos)
                print("cold manifest load: skipped (hash cache seeded with the portraits' hashes)")
            else:
                # The first load hashes and decodes every photo once (then the hash
                # cache answers): timed on its own, so that the apply's figures are
                # the sync's.
                check_s, _, _, _ = run(["validate"], gallery, env)
                print(f"cold manifest load (every photo hashed and decoded): {check_s:.1f} s")
            wall, cpu, rss, _ = run(
                ["apply", "--yes", "--no-wait", "--parallelism", str(args.parallelism)],
                gallery, env,
            )
            lock = gallery / "facesync.lock.json"
            size = lock.stat().st_size
            print(f"first apply:      {wall:8.1f} s  {calls / wall:6.1f} calls/s  "
                  f"client CPU {1000 * cpu / calls:.2f} ms/call  peak RSS {rss / 1024:.0f} MB")
            print(f"lock file:        {size / 1e6:8.2f} MB  {size / faces:.0f} bytes/face")
            measure_plan(gallery, env, server.pid)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
