"""Figures for the declarative sync (manifest -> plan -> apply -> lock).

Prints:
- wall time of the quick-start apply (the example manifest, embedded emulator,
  from an empty state) and of a warm no-change plan of it;
- warm no-change plan time for a generated manifest of N persons x 5 photos
  (default 1,000 x 5), after applying it once.

Everything runs on copies in a temporary folder, against the embedded
emulator (127.0.0.1 only). Usage: python bench/sync_bench.py [--persons N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PHOTOS = [
    "people/barack_obama/obama_2012-12-06_official-portrait.jpg",
    "people/joe_biden/biden_2021-03-03_official-portrait.jpg",
    "people/kamala_harris/harris_2021-03-04_official-portrait.jpg",
    "people/mark_kelly/kelly_2021-02-08_senate-portrait.jpg",
    "people/mike_pence/pence_2017-10-24_official-portrait.jpg",
]


def facesync(*args: str, cwd: Path) -> float:
    """Run the CLI; return its wall time in seconds (fail loudly on error)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACESYNC_")}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "facesync", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 2):
        sys.exit(f"facesync {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def example_figures(work: Path) -> None:
    shutil.copytree(REPO / "manifests", work / "manifests",
                    ignore=shutil.ignore_patterns(".facesync", "*.lock.json"))
    apply_s = facesync("apply", "--yes", "-m", "manifests/example.yaml", cwd=work)
    facesync("plan", "-m", "manifests/example.yaml", cwd=work)
    plan_s = facesync("plan", "-m", "manifests/example.yaml", cwd=work)
    print(f"quick-start apply (example, embedded, cold): {apply_s:.1f} s")
    print(f"plan, warm, no changes (example):            {plan_s:.2f} s")


def generated_figures(work: Path, persons: int) -> None:
    folder = work / "generated"
    (folder / "photos").mkdir(parents=True)
    for i, rel in enumerate(PHOTOS):
        shutil.copyfile(REPO / "manifests" / "faces" / rel, folder / "photos" / f"{i}.jpg")
    lines = ["version: 1", "groups:", "  bench:", "    name: Bench",
             "    kind: largePersonGroup", "    persons:"]
    for p in range(persons):
        person_dir = folder / "faces" / f"p{p:05d}"
        person_dir.mkdir(parents=True)
        for i in range(len(PHOTOS)):  # hard links: distinct paths, shared bytes
            os.link(folder / "photos" / f"{i}.jpg", person_dir / f"{i}.jpg")
        lines += [f"      p{p:05d}:", f"        faces: [faces/p{p:05d}/*.jpg]"]
    (folder / "facesync.yaml").write_text("\n".join(lines) + "\n")
    apply_s = facesync("apply", "--yes", "--no-wait", cwd=folder)
    facesync("plan", cwd=folder)
    plan_s = facesync("plan", cwd=folder)
    faces = persons * len(PHOTOS)
    print(f"apply {persons} persons x 5 photos (embedded):  {apply_s:.1f} s "
          f"({(persons + faces) / apply_s:.0f} calls/s)")
    print(f"plan, warm, no changes ({persons} x 5):        {plan_s:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="facesync-bench-") as tmp:
        example_figures(Path(tmp))
        generated_figures(Path(tmp), args.persons)


if __name__ == "__main__":
    main()
