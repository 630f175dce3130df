"""Figures of the local Face API emulator (docs/emulator.md), printed, not asserted.

    python bench/emulator_bench.py [--persons 100000] [--faces 5] [--add-faces 48]

1. add-face calls per second over HTTP of fresh 512 px photos, the server in
   its own process with 1 and then 2 vision workers (and the ratio), 4 client
   threads spread over 8 persons, on the same cores as this client;
2. Identify latency over HTTP against a LargePersonGroup of --persons persons
   with 1 face each (and against the one of item 3);
3. the training time of a LargePersonGroup of --persons persons x --faces faces
   (POST train to a `succeeded` status, polled over HTTP every 50 ms);
4. the server's resident memory, now and at its peak (and its workers', apart),
   holding that group after its training and Identify calls; the data folder.

Fresh photos: the shipped portraits (manifests/faces/people) scaled to a long
side of 512 px, each copy cropped by a different few pixels and re-encoded,
so that no two uploads share a SHA-256 and the emulator's cache never answers.

Seeding the big groups: real dlib embeddings of those portraits (computed here
with the emulator's own vision module), each seeded person a small Gaussian
step away from one of them (0.04 per value, about 0.6 apart: strangers) and
each of its faces a smaller step from the person (0.015, about 0.24: the same
person). They are written before the server starts with the store's own bulk
inserts (Store.write, Tx.insert_group, Tx.insert_persons, Tx.insert_faces:
the same rows and columns add-face writes), never with SQL of our own.

Everything binds to 127.0.0.1 and every wait is bounded. Other work running on
the machine makes the figures noisy: compare runs on a quiet machine.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "manifests" / "faces" / "people"
API = "/face/v1.0"
KEY = "bench-key"
DEADLINE_SECONDS = 600
CLIENTS = 4
ADD_PERSONS = 8
PERSON_STEP = 0.04  # per value: persons about 0.04 * sqrt(256) = 0.64 apart
FACE_STEP = 0.015  # per value: a person's faces about 0.24 apart
ONE_FACE, FIVE_FACES = "big-1", "big-5"


def fresh_portraits(count: int, first: int, side: int = 512) -> list[bytes]:
    """`count` JPEGs of one face each, long side `side` px, distinct for every
    number from `first` on (a different crop per round through the portraits)."""
    sources = sorted(PHOTOS.glob("*/*.jpg"))
    images = []
    for number in range(first, first + count):
        with Image.open(sources[number % len(sources)]) as original:
            image = original.convert("RGB")
        image.thumbnail((side, side))
        shift = 1 + number // len(sources)
        image = image.crop((shift, shift // 2, image.width - shift // 2, image.height - shift))
        scale = side / max(image.size)  # back to `side`: a slightly different framing
        image = image.resize((round(image.width * scale), round(image.height * scale)))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=88 + number % 7)
        images.append(buffer.getvalue())
    return images


def base_faces() -> list[tuple[Any, tuple[int, int, int, int], str]]:
    """(embedding, rectangle, image SHA-256) of every shipped portrait, by dlib here."""
    from facesync.emulator import vision

    found = []
    for path in sorted(PHOTOS.glob("*/*.jpg")):
        data = path.read_bytes()
        faces = vision.find_faces(data)
        if len(faces) == 1:
            sha = hashlib.sha256(data).hexdigest()
            found.append((faces[0].embedding, faces[0].rectangle, sha))
    return found


def seed(data_dir: Path, group_id: str, persons: int, faces: int, seed_number: int) -> None:
    """One LargePersonGroup of `persons` x `faces`, through the store's bulk inserts."""
    from facesync.emulator.models import utc_now
    from facesync.emulator.rows import FaceRow, GroupRow, PersonRow
    from facesync.emulator.store import Store

    bases = base_faces()
    rng = np.random.default_rng(seed_number)
    kind = "largePersonGroup"
    person_ids = [str(uuid.uuid4()) for _ in range(persons)]
    which = rng.integers(len(bases), size=persons)
    centres = np.stack([bases[i][0] for i in which]) + rng.normal(0, PERSON_STEP, (persons, 128))

    def face_rows() -> Iterator[FaceRow]:
        for number, person_id in enumerate(person_ids):
            _, rectangle, sha = bases[which[number]]
            steps = rng.normal(0, FACE_STEP, (faces, 128))
            for vector in (centres[number] + steps).astype("<f4"):
                yield FaceRow(str(uuid.uuid4()), person_id, kind, group_id, None, *rectangle,
                              "detection_01", sha, vector.tobytes())  # fmt: skip

    store = Store(data_dir)
    try:
        with store.write() as tx:
            tx.insert_group(GroupRow(kind, group_id, group_id, None, "recognition_01", utc_now()))
            tx.insert_persons(
                PersonRow(person_id, kind, group_id, f"p{n}", None)
                for n, person_id in enumerate(person_ids)
            )
            tx.insert_faces(face_rows())
    finally:
        store.close()


class Server:
    """`facesync.emulator.server.serve` in a child process."""

    def __init__(self, data_dir: Path, workers: int) -> None:
        code = (
            "from pathlib import Path\n"
            "from facesync.emulator.server import EmulatorConfig, serve\n"
            f"serve(EmulatorConfig(data_dir=Path({str(data_dir)!r}), port=0, key={KEY!r},"
            f" workers={workers}), announce=lambda line: print(line, flush=True))\n"
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
        self.session = requests.Session()

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Ocp-Apim-Subscription-Key": KEY, **kwargs.pop("headers", {})}
        return self.session.request(
            method, self.url + API + path, headers=headers, timeout=120, **kwargs
        )

    def worker_pids(self) -> list[int]:
        """The vision workers among the server's children (not multiprocessing's
        resource tracker, which spawn starts beside them)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        found = [int(p) for p in children.read_text().split()] if children.exists() else []
        return [p for p in found if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]

    def rss_mb(self, pid: int | None = None, field: str = "VmRSS") -> float:
        """Resident memory now (VmRSS) or at its peak so far (VmHWM)."""
        status = Path(f"/proc/{pid or self.process.pid}/status")
        for line in status.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self, pid: int | None = None) -> float:
        """User + system CPU time of the server (or one of its workers) so far."""
        fields = Path(f"/proc/{pid or self.process.pid}/stat").read_text().rsplit(")", 1)[1]
        user, system = fields.split()[11:13]
        return (int(user) + int(system)) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def add_faces(server: Server, images: list[bytes], persons: list[str]) -> list[int]:
    octet = {"Content-Type": "application/octet-stream"}

    def add(number: int) -> int:
        path = f"/persongroups/adds/persons/{persons[number % len(persons)]}/persistedfaces"
        return server.call("POST", path, data=images[number], headers=octet).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(add, range(len(images))))


def add_face_rate(workers: int, count: int, first: int) -> float:
    """Calls per second of `count` fresh photos, after every worker has started."""
    with tempfile.TemporaryDirectory(prefix="facesync-bench-") as tmp:
        server = Server(Path(tmp), workers)
        try:
            server.call("PUT", "/persongroups/adds", json={"name": "Adds"})
            persons = [
                server.call("POST", "/persongroups/adds/persons", json={"name": f"p{n}"}).json()[
                    "personId"
                ]
                for n in range(ADD_PERSONS)
            ]
            warm = fresh_portraits(CLIENTS, first + count)
            add_faces(server, warm, persons)  # starts the workers: not timed
            images = fresh_portraits(count, first)
            pids = server.worker_pids()
            before = cpu_split(server, pids)
            started = time.perf_counter()
            codes = add_faces(server, images, persons)
            elapsed = time.perf_counter() - started
            if codes.count(200) != len(codes):
                raise SystemExit(f"add-face failed: {sorted(set(codes))}")
            after = cpu_split(server, pids)
            used = [b - a for a, b in zip(before, after, strict=True)]
            others = (used[3] - sum(used[:3])) / elapsed
            workers_ms, server_ms, client_ms = (seconds / count * 1000 for seconds in used[:3])
            print(
                f"  {workers} worker(s) ({len(pids)} process(es)): {count / elapsed:.2f} calls/s;"
                f" CPU per call: workers {workers_ms:.0f} ms, server {server_ms:.0f} ms,"
                f" this client {client_ms:.0f} ms; cores busy: the workers"
                f" {used[0] / elapsed:.2f}, other processes {others:.2f}"
            )
        finally:
            server.stop()
    return count / elapsed


def cpu_split(server: Server, pids: list[int]) -> tuple[float, float, float, float]:
    """CPU seconds so far of the vision workers, the server, this client and the
    whole machine (every process: what is left is other work sharing the cores)."""
    times = os.times()
    workers = sum(server.cpu_seconds(pid) for pid in pids)
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    machine = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # not idle
    return workers, server.cpu_seconds(), times.user + times.system, machine


def train_seconds(server: Server, group_id: str) -> float:
    started = time.perf_counter()
    answer = server.call("POST", f"/largepersongroups/{group_id}/train")
    assert answer.status_code == 202, answer.text
    while time.perf_counter() - started < DEADLINE_SECONDS:
        status = server.call("GET", f"/largepersongroups/{group_id}/training").json()["status"]
        if status in ("succeeded", "failed"):
            assert status == "succeeded", status
            return time.perf_counter() - started
        time.sleep(0.05)
    raise SystemExit("training did not finish in time")


def identify_latencies(server: Server, face_id: str, group_id: str, calls: int) -> list[float]:
    body = {"faceIds": [face_id], "largePersonGroupId": group_id,
            "maxNumOfCandidatesReturned": 5, "confidenceThreshold": 0.0}  # fmt: skip
    server.call("POST", "/identify", json=body)  # not timed
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        answer = server.call("POST", "/identify", json=body)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return times


def shown(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(times) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def big_groups(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="facesync-bench-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        seed(data_dir, FIVE_FACES, args.persons, args.faces, 1)
        seed(data_dir, ONE_FACE, args.persons, 1, 2)
        print(
            f"seeded {args.persons:,} x {args.faces} and {args.persons:,} x 1 in"
            f" {time.perf_counter() - started:.1f} s, before the server starts, through the"
            " emulator's own store code (Store.write, Tx.insert_group/_persons/_faces:"
            " the rows add-face writes), with dlib embeddings of the sample portraits"
        )
        server = Server(data_dir, workers=1)
        try:
            query = fresh_portraits(1, 5)[0]
            octet = {"Content-Type": "application/octet-stream"}
            detected = server.call("POST", "/detect", data=query, headers=octet)
            face_id = detected.json()[0]["faceId"]
            seconds = train_seconds(server, FIVE_FACES)
            print(f"training {args.persons:,} persons x {args.faces} faces: {seconds:.2f} s")
            times = identify_latencies(server, face_id, FIVE_FACES, args.identify_calls)
            print(f"identify over HTTP, {args.persons:,} x {args.faces}: {shown(times)}")
            workers = sum(server.rss_mb(pid) for pid in server.worker_pids())
            print(
                f"emulator RSS holding {args.persons:,} x {args.faces}, trained and searched:"
                f" {server.rss_mb():.0f} MB, peak {server.rss_mb(field='VmHWM'):.0f} MB"
                f" (its 1 vision worker: {workers:.0f} MB more)"
            )
            train_seconds(server, ONE_FACE)
            times = identify_latencies(server, face_id, ONE_FACE, args.identify_calls)
            print(f"identify over HTTP, {args.persons:,} x 1: {shown(times)}")
            print(
                f"emulator RSS with both groups trained: {server.rss_mb():.0f} MB,"
                f" peak {server.rss_mb(field='VmHWM'):.0f} MB"
            )
        finally:
            server.stop()
        print(
            f"data folder: {folder_mb(data_dir):.0f} MB"
            f" (snapshot files {folder_mb(data_dir / 'snapshots'):.0f} MB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--faces", type=int, default=5)
    parser.add_argument("--add-faces", type=int, default=48)
    parser.add_argument("--identify-calls", type=int, default=50)
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}  python {sys.version.split()[0]}  load {os.getloadavg()[0]:.2f}")

    print(f"add-face over HTTP, {args.add_faces} fresh 512 px photos, {CLIENTS} clients:")
    one = add_face_rate(1, args.add_faces, 0)
    two = add_face_rate(2, args.add_faces, 2 * args.add_faces)
    print(f"  1 worker {one:.2f} calls/s, 2 workers {two:.2f} calls/s: ratio {two / one:.2f}")
    big_groups(args)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
