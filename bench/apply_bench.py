"""Apply throughput against a rate-limited, slow Face API, next to a plain loop.

    python bench/apply_bench.py [--persons 40] [--faces 4] [--latency-ms 300] [--tier S0]
                                [--parallelism 8] [--rate 10] [--in-process]

Starts the emulator (tier S0: 10 calls/s; 300 ms per request) on 127.0.0.1 in
a subprocess, then enrols the same number of persons and faces twice, into
two groups:
  (a) a plain sequential loop, one request at a time, as hand-written
      enrolment scripts do (create person, add its faces, next person);
  (b) facesync's executor with --parallelism and the client-side limiter.
The photos are slight crops of the repository's portraits. The emulator's face
detection costs about 0.1 s of CPU per new photo, so on a small or busy
machine the emulator, not the client, would set the pace. Unless --cold-images
is given, both runs therefore draw on one pool of 100 distinct photos (no
person gets the same photo twice), detected once before timing; the emulator
caches the analysis by SHA-256 (128 entries), which leaves a server that
answers in the configured latency, as the issue's figure assumes. With
--cold-images every face is a new photo. Prints calls/s, the share
of the tier's ceiling, failed calls and, for (b), the requests retried (429s).
"""

from __future__ import annotations

import argparse
import io
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from PIL import Image

from facesync.backends.http import HttpBackend
from facesync.digest import bytes_key
from facesync.engine.checkpoint import LockFileWriter
from facesync.engine.executor import execute
from facesync.engine.record import CallResult
from facesync.limits import TIER_RATES
from facesync.plan.model import Action, Address, Change, Plan
from facesync.plan.payloads import FaceSpec, PersonSpec
from facesync.state.lock_file import write_lock
from facesync.state.model import LockedFace, LockedGroup, LockedPerson, LockState

REPO = Path(__file__).resolve().parent.parent
PORTRAITS = sorted((REPO / "manifests" / "faces" / "people").glob("*/*portrait*.jpg"))
KEY = "bench-key-0123456789"
KIND = "personGroup"
BASE = "/face/v1.0/persongroups"
POOL = 100  # distinct photos when warm: below the emulator's analysis cache of 128

SERVER = """
import pathlib, sys
from facesync.emulator.server import EmulatorConfig, start_emulator
emu = start_emulator(EmulatorConfig(data_dir=pathlib.Path(sys.argv[1]), key=sys.argv[2], port=0,
                                    tier=sys.argv[3], latency_ms=int(sys.argv[4])))
print(emu.url, flush=True)
sys.stdin.read()
emu.stop()
"""


def variants(count: int, seed: int) -> list[bytes]:
    """Distinct single-face JPEGs: portraits slightly cropped, 200-260 px."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        with Image.open(PORTRAITS[i % len(PORTRAITS)]) as img:
            img = img.convert("RGB")
            w, h = img.size
            box = (
                int(w * rng.uniform(0, 0.05)),
                int(h * rng.uniform(0, 0.05)),
                w - int(w * rng.uniform(0, 0.05)),
                h - int(h * rng.uniform(0, 0.05)),
            )
            img = img.crop(box)
            img.thumbnail((rng.randint(200, 260),) * 2)
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=rng.randint(80, 95))
            out.append(buf.getvalue())
    return out


def warm_cache(client: HttpBackend, photos: list[bytes], parallelism: int) -> None:
    """Detect every photo once, so the timed runs measure the client, not dlib."""
    from concurrent.futures import ThreadPoolExecutor

    def detect(image: bytes) -> None:
        client.detect(image, recognition_model="recognition_04", detection_model="detection_03")

    with ThreadPoolExecutor(parallelism) as pool:
        list(pool.map(detect, photos))


def sequential(url: str, group: str, persons: int, photos: list[bytes]) -> tuple[int, int, float]:
    """(calls, failed, seconds) of a one-request-at-a-time enrolment script."""
    session = requests.Session()
    session.headers["Ocp-Apim-Subscription-Key"] = KEY
    calls = failed = 0
    per_person = len(photos) // persons
    started = time.monotonic()
    for p in range(persons):
        r = session.post(f"{url}{BASE}/{group}/persons", json={"name": f"Person {p}"}, timeout=60)
        calls += 1
        if not r.ok:
            failed += 1
            continue
        person_id = r.json()["personId"]
        for image in photos[p * per_person : (p + 1) * per_person]:
            r = session.post(
                f"{url}{BASE}/{group}/persons/{person_id}/persistedfaces",
                data=image,
                headers={"Content-Type": "application/octet-stream"},
                timeout=60,
            )
            calls += 1
            failed += not r.ok
    return calls, failed, time.monotonic() - started


def enrolment_plan(group: str, persons: int, photos: list[bytes], folder: Path) -> Plan:
    """The plan the diff would make for a new manifest of these persons (no group, no train)."""
    changes = []
    per_person = len(photos) // persons
    for p in range(persons):
        key = f"p{p:03d}"
        changes.append(
            Change(
                Address(group, key),
                Action.CREATE,
                payload=PersonSpec(group, KIND, key, f"Person {p}", f"facesync:key={key}"),
            )
        )
        for i, image in enumerate(photos[p * per_person : (p + 1) * per_person]):
            path = folder / f"{key}-{i}.jpg"
            path.write_bytes(image)
            digest = bytes_key(image)
            changes.append(
                Change(
                    Address(group, key, path.name),
                    Action.CREATE,
                    payload=FaceSpec(
                        group_id=group, kind=KIND, person_key=key, person_id=None,
                        sha256=digest, path=path.name, abs_path=str(path), target_face=None,
                        user_data=f"facesync:sha256={digest}", detection_model="detection_03",
                    ),
                )
            )
    return Plan(changes=tuple(changes))


def big_lock_writer(path: Path, persons: int) -> LockFileWriter:
    """A lock file whose group "apply" already records `persons` persons x 5
    faces (made-up ids), and the writer apply would checkpoint into."""
    people = tuple(
        LockedPerson(
            f"held{p:06d}", f"{p:08d}-0000-4000-8000-000000000000", "A" * 22, "B" * 22,
            tuple(
                LockedFace(bytes_key(f"{p}-{f}".encode()), f"held/{p}/{f}.jpg",
                           f"{p:08d}-{f:04d}-4000-8000-000000000000", None, "detection_03",
                           "C" * 22)
                for f in range(5)
            ),
        )
        for p in range(persons)
    )
    group = LockedGroup("apply", KIND, "recognition_04", "D" * 22, persons=people)
    written = write_lock(path, LockState("embedded", groups=(group,)))
    return LockFileWriter(path, written)


def start_server(args: argparse.Namespace, data: Path) -> tuple[str, object]:
    if args.in_process:
        from facesync.emulator.server import EmulatorConfig, start_emulator

        emu = start_emulator(
            EmulatorConfig(
                data_dir=data, key=KEY, port=0, tier=args.tier, latency_ms=args.latency_ms
            )
        )
        return emu.url, emu.stop
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(data), KEY, args.tier, str(args.latency_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"the emulator did not start: {url!r}")

    def stop() -> None:
        proc.stdin.close()
        proc.wait(timeout=30)

    return url, stop


def line(name: str, calls: int, seconds: float, failed: int, ceiling: float | None) -> str:
    rate = calls / seconds
    share = f" ({100 * rate / ceiling:.0f} % of the {ceiling:g} calls/s ceiling)" if ceiling else ""
    return (
        f"{name:<30} {calls} calls in {seconds:5.1f} s = {rate:5.2f} calls/s{share}, "
        f"failed calls: {failed}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=40)
    parser.add_argument("--faces", type=int, default=4, help="faces per person")
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--tier", default="S0", choices=sorted(TIER_RATES))
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--rate", type=float, default=None, help="default: the tier's rate")
    parser.add_argument("--in-process", action="store_true", help="emulator in this process")
    parser.add_argument("--cold-images", action="store_true", help="skip the detection warm-up")
    parser.add_argument("--no-loop", action="store_true", help="skip the sequential loop (a)")
    parser.add_argument(
        "--lock-persons", type=int, default=0,
        help="checkpoint into a real lock file that already records this many persons "
        "x 5 faces (a slice of a big apply); default: an in-memory list",
    )
    args = parser.parse_args(argv)
    rate = args.rate if args.rate is not None else TIER_RATES[args.tier]
    ceiling = TIER_RATES[args.tier]
    count = args.persons * args.faces
    print(
        f"{args.persons} persons x {args.faces} faces = {args.persons + count} calls per run; "
        f"emulator tier {args.tier}, {args.latency_ms} ms latency; apply with "
        f"--parallelism {args.parallelism}, rate {rate} calls/s"
    )
    with tempfile.TemporaryDirectory() as temp:
        url, stop = start_server(args, Path(temp) / "emulator")
        try:
            client = HttpBackend(url, KEY, rate=rate, pool_size=max(16, args.parallelism))
            for group in ("loop", "apply", "warmup"):
                client.create_group(KIND, group, group, None, "recognition_04")
            warm = client.create_person(KIND, "warmup", "warm-up", None)
            client.add_face(KIND, "warmup", warm, variants(1, seed=99)[0])  # loads the models
            if args.cold_images:
                loop_photos, apply_photos = variants(count, 1), variants(count, 2)
            else:
                pool = variants(POOL, 1)
                warm_cache(client, pool, args.parallelism)
                loop_photos = apply_photos = [pool[i % POOL] for i in range(count)]
            time.sleep(1.5)  # let the server's rate window empty before timing

            calls, failed, seconds = 0, 0, 0.0
            if not args.no_loop:
                calls, failed, seconds = sequential(url, "loop", args.persons, loop_photos)
                print(line("(a) sequential loop", calls, seconds, failed, ceiling))
                time.sleep(1.5)

            folder = Path(temp) / "photos"
            folder.mkdir()
            plan = enrolment_plan("apply", args.persons, apply_photos, folder)
            before = client.calls_made
            mutex = threading.Lock()
            recorded: list[CallResult] = []

            def checkpoint(change: Change, result: CallResult) -> None:
                with mutex:
                    recorded.append(result)

            writer = None
            if args.lock_persons:
                writer = big_lock_writer(Path(temp) / "big.lock.json", args.lock_persons)
                inner = writer.checkpoint

                def checkpoint(change: Change, result: CallResult) -> None:  # noqa: F811
                    inner(change, result)
                    with mutex:
                        recorded.append(result)

            report = execute(
                plan, client, checkpoint=checkpoint, parallelism=args.parallelism, train=False
            )
            if writer is not None:
                writer.close()
                size = (Path(temp) / "big.lock.json").stat().st_size
                print(f"checkpointed into a lock file of {args.lock_persons} + {args.persons} "
                      f"persons ({size / 1e6:.1f} MB), folded every 5 s")
            sent = client.calls_made - before
            print(
                line(
                    "(b) facesync apply executor",
                    report.calls,
                    report.seconds,
                    len(report.failed) + len(report.skipped),
                    ceiling,
                )
                + f", HTTP requests sent: {sent} ({sent - report.calls} retried)"
            )
            if seconds:
                speedup = (report.calls / report.seconds) / (calls / seconds)
                print(f"speed-up over the loop: {speedup:.2f}x")
            print(f"ids checkpointed: {len(recorded)} of {len(plan.changes)}")
            for _change, error in report.failed[:5]:
                print(f"  failed: {error}")
            client.close()
        finally:
            stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
