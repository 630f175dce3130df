"""The two group kinds the emulator serves: same rules, different names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GroupKind:
    """How one kind of group is spelled in URLs, JSON and error bodies."""

    name: str  # "personGroup" | "largePersonGroup" (the backend Protocol's spelling)
    prefix: str  # URL segment
    id_field: str  # JSON field of the group id
    code: str  # error code stem: f"{code}NotFound"
    noun: str  # message stem: f"{noun} is not found."
    large: bool

    @property
    def noun_lower(self) -> str:
        return self.noun.lower()


PERSON_GROUP = GroupKind(
    name="personGroup",
    prefix="persongroups",
    id_field="personGroupId",
    code="PersonGroup",
    noun="Person group",
    large=False,
)
LARGE_PERSON_GROUP = GroupKind(
    name="largePersonGroup",
    prefix="largepersongroups",
    id_field="largePersonGroupId",
    code="LargePersonGroup",
    noun="Large person group",
    large=True,
)
KINDS = (PERSON_GROUP, LARGE_PERSON_GROUP)
KIND_BY_NAME = {kind.name: kind for kind in KINDS}
