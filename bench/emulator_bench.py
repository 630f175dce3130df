"""Figures of the local Face API emulator (docs/emulator.md), printed, not asserted.

    python bench/emulator_bench.py [--persons 10000] [--faces 5] [--add-faces 60]

1. detect + embed time of one 512 px photo (dlib, in this process, cache defeated);
2. add-face calls per second over HTTP, unlimited tier, the server in its own
   process (the machine's cores shared with this client);
3. Identify latency over HTTP against one group of --persons persons with
   --faces random embeddings each (written straight into the store, trained
   over HTTP);
4. the SQLite size and the server's resident memory with that group trained
   and searched.

Everything binds to 127.0.0.1 and every wait is bounded. The shipped sample
photos (manifests/faces) are scaled to 512 px and varied slightly so that no
two uploads share a SHA-256.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "manifests" / "faces" / "people"
API = "/face/v1.0"
KEY = "bench-key"
DEADLINE_SECONDS = 600


def portraits(count: int, side: int = 512) -> list[bytes]:
    """`count` distinct JPEGs of one face each, long side `side` px."""
    sources = sorted(PHOTOS.glob("*/*.jpg"))
    images = []
    for number in range(count):
        with Image.open(sources[number % len(sources)]) as original:
            image = original.convert("RGB")
        image.thumbnail((side, side))
        shift = number // len(sources)  # a different crop per round: new bytes, same face
        image = image.crop((shift, shift, image.width - shift, image.height - shift))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        images.append(buffer.getvalue())
    return images


def detect_and_embed_seconds(images: list[bytes]) -> list[float]:
    from facesync.emulator import vision

    vision.find_faces(images[0])  # loads the models
    times = []
    for data in images[1:]:
        started = time.perf_counter()
        vision.find_faces(data)
        times.append(time.perf_counter() - started)
    return times


def populate(data_dir: Path, persons: int, faces: int) -> None:
    """One person group of random embeddings, written in one transaction."""
    from facesync.emulator.models import utc_now
    from facesync.emulator.rows import FaceRow, GroupRow, PersonRow
    from facesync.emulator.store import Store

    rng = np.random.default_rng(0)
    store = Store(data_dir)
    try:
        with store.write() as tx:
            tx.insert_group(
                GroupRow("personGroup", "big", "Big", None, "recognition_01", utc_now())
            )
            for number in range(persons):
                person_id = str(uuid.uuid4())
                tx.insert_person(PersonRow(person_id, "personGroup", "big", f"p{number}", None))
                vectors = rng.normal(size=(faces, 128)).astype("<f4")
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                for vector in vectors:
                    tx.insert_face(
                        FaceRow(str(uuid.uuid4()), person_id, "personGroup", "big", None,
                                0, 0, 100, 100, "detection_01", "0" * 64, vector.tobytes())
                    )  # fmt: skip
    finally:
        store.close()


class Server:
    """`facesync.emulator.server.serve` in a child process."""

    def __init__(self, data_dir: Path) -> None:
        code = (
            "from pathlib import Path\n"
            "from facesync.emulator.server import EmulatorConfig, serve\n"
            f"serve(EmulatorConfig(data_dir=Path({str(data_dir)!r}), port=0, key={KEY!r}),"
            " announce=lambda line: print(line, flush=True))\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if " on http://" not in line:
            self.process.kill()
            raise SystemExit(f"the emulator did not start: {line!r}")
        self.url = line.split(" on ", 1)[1].split("/face/", 1)[0]

    def call(self, method: str, path: str, **kwargs: object) -> requests.Response:
        headers = {"Ocp-Apim-Subscription-Key": KEY, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return requests.request(
            method, self.url + API + path, headers=headers, timeout=60, **kwargs
        )  # type: ignore[arg-type]

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def add_face_rate(server: Server, images: list[bytes], workers: int) -> float:
    server.call("PUT", "/persongroups/adds", json={"name": "Adds"})
    persons = [
        server.call("POST", "/persongroups/adds/persons", json={"name": f"p{n}"}).json()["personId"]
        for n in range(workers * 2)
    ]
    octet = {"Content-Type": "application/octet-stream"}

    def add(number: int) -> int:
        person_id = persons[number % len(persons)]
        path = f"/persongroups/adds/persons/{person_id}/persistedfaces"
        return server.call("POST", path, data=images[number], headers=octet).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        codes = list(pool.map(add, range(len(images))))
    elapsed = time.perf_counter() - started
    if codes.count(200) != len(codes):
        raise SystemExit(f"add-face failed: {sorted(set(codes))}")
    return len(images) / elapsed


def train_and_wait(server: Server, group_id: str) -> float:
    started = time.perf_counter()
    assert server.call("POST", f"/persongroups/{group_id}/train").status_code == 202
    while time.perf_counter() - started < DEADLINE_SECONDS:
        status = server.call("GET", f"/persongroups/{group_id}/training").json()["status"]
        if status in ("succeeded", "failed"):
            assert status == "succeeded", status
            return time.perf_counter() - started
        time.sleep(0.1)
    raise SystemExit("training did not finish in time")


def identify_latencies(server: Server, photo: bytes, calls: int) -> list[float]:
    octet = {"Content-Type": "application/octet-stream"}
    face_id = server.call("POST", "/detect", data=photo, headers=octet).json()[0]["faceId"]
    body = {"faceIds": [face_id], "personGroupId": "big", "maxNumOfCandidatesReturned": 5,
            "confidenceThreshold": 0.0}  # fmt: skip
    server.call("POST", "/identify", json=body)  # loads the index after training
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        answer = server.call("POST", "/identify", json=body)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return times


def search_seconds(persons: int, faces: int, calls: int) -> list[float]:
    """The index search alone (no HTTP), same size as the served group."""
    from facesync.emulator.index import Index

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(persons * faces, 128)).astype("<f4")
    rows = ((f"{n // faces:08d}", vector.tobytes()) for n, vector in enumerate(vectors))
    index = Index.build("recognition_01", persons * faces, rows)
    assert index is not None
    times = []
    for query in rng.normal(size=(calls, 128)):
        started = time.perf_counter()
        index.search([query], 5, 0.0)
        times.append(time.perf_counter() - started)
    return times


def file_mb(path: Path) -> float:
    return path.stat().st_size / 1e6 if path.exists() else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--faces", type=int, default=5)
    parser.add_argument("--add-faces", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--identify-calls", type=int, default=50)
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}  python {sys.version.split()[0]}")

    images = portraits(args.add_faces + 11)
    detect = detect_and_embed_seconds(images[-11:])
    print(
        f"detect+embed, 512 px photo: median {statistics.median(detect) * 1000:.0f} ms"
        f" (min {min(detect) * 1000:.0f}, max {max(detect) * 1000:.0f}, n={len(detect)})"
    )

    search = search_seconds(args.persons, args.faces, args.identify_calls)
    print(
        f"identify search alone (numpy, {args.persons} x {args.faces}): median"
        f" {statistics.median(search) * 1000:.1f} ms"
    )

    with tempfile.TemporaryDirectory(prefix="facesync-bench-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        populate(data_dir, args.persons, args.faces)
        print(
            f"populated {args.persons} persons x {args.faces} faces"
            f" in {time.perf_counter() - started:.1f} s"
        )
        server = Server(data_dir)
        try:
            rate = add_face_rate(server, images[: args.add_faces], args.workers)
            print(
                f"add-face over HTTP, unlimited tier, {args.workers} clients: {rate:.1f} calls/s"
                f" ({args.add_faces} distinct 512 px photos)"
            )
            print(
                f"train {args.persons} persons: {train_and_wait(server, 'big'):.2f} s (HTTP poll)"
            )
            latencies = identify_latencies(server, images[0], args.identify_calls)
            ordered = sorted(latencies)
            p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
            print(
                f"identify over HTTP vs {args.persons} persons: median"
                f" {statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"
            )
            print(f"server RSS: {server.rss_mb():.0f} MB")
            database = data_dir / "emulator.sqlite3"
            wal = data_dir / "emulator.sqlite3-wal"
            print(f"SQLite: {file_mb(database):.1f} MB (+ WAL {file_mb(wal):.1f} MB)")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
