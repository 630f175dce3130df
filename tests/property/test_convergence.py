"""Any manifest, and any sequence of edits to it, converges:
after every apply of the real CLI to the emulator, the server holds exactly
the manifest and the plan is empty."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from facesync.emulator.server import RunningEmulator
from tests.faults.gallery import Pool
from tests.property.edits import Session

# Each example runs 2 to 4 applies; bounded so that the file stays near a minute.
# No shrinking: every step is a real apply, and a failure already lists its edits.
BOUNDED = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.function_scoped_fixture),
)


@BOUNDED
@given(data=st.data())
def test_any_manifest_then_any_edits_converge_with_an_empty_plan(
    data: st.DataObject, emulator: RunningEmulator, pool: Pool
) -> None:
    session = Session(emulator, pool)
    try:
        keys = data.draw(st.lists(st.sampled_from(sorted(pool)), min_size=1, max_size=3,
                                  unique=True), label="first persons")  # fmt: skip
        session.set_persons({k: session.new_person(data, k) for k in keys})
        session.converge(f"first manifest: {', '.join(sorted(keys))}")
        for _ in range(data.draw(st.integers(1, 3), label="applies")):
            done = []
            for _ in range(data.draw(st.integers(1, 3), label="edits in this apply")):
                edits = session.edits()
                name = data.draw(st.sampled_from(sorted(edits)), label="edit")
                event(name)
                done.append(edits[name](data))
            session.converge("; ".join(done))
    finally:
        session.close()
