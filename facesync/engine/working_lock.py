"""The lock state while apply changes it call by call.

A `LockState` is a value: sorted tuples, cheap to compare and to write, but
putting one person into it rebuilds its group's tuple, so an apply of N
persons would pay O(N) per call. A `WorkingLock` keeps the same data in
dicts, so recording one result costs the same at any gallery size, and
builds the sorted `LockState` only when asked (a fold into the lock file
every few seconds, the end of a pass), rebuilding only the groups that
changed since the last time.
"""

from __future__ import annotations

from dataclasses import replace

from facesync.state.model import LockedGroup, LockedPerson, LockState


class WorkingLock:
    """A mutable copy of a LockState (one thread at a time: callers hold a mutex)."""

    def __init__(self, state: LockState) -> None:
        self.endpoint = state.endpoint
        self.serial = state.serial
        self.version = state.version
        # A group's own fields (its `persons` left empty) and its persons by key.
        self._groups: dict[str, LockedGroup] = {}
        self._persons: dict[str, dict[str, LockedPerson]] = {}
        self._built: dict[str, LockedGroup] = {}  # groups as last built, while unchanged
        for group in state.groups:
            self._groups[group.group_id] = replace(group, persons=())
            self._persons[group.group_id] = {p.key: p for p in group.persons}
            self._built[group.group_id] = group

    # --- reading -------------------------------------------------------------------

    def group(self, group_id: str) -> LockedGroup | None:
        """The group's own fields; its `persons` are read with `person()`."""
        return self._groups.get(group_id)

    def person(self, group_id: str, key: str) -> LockedPerson | None:
        persons = self._persons.get(group_id)
        return persons.get(key) if persons is not None else None

    def has_persons(self, group_id: str) -> bool:
        return bool(self._persons.get(group_id))

    # --- writing -------------------------------------------------------------------

    def put_group(self, group: LockedGroup, *, keep_persons: bool = True) -> None:
        """Set a group's own fields; a new (or re-created) group starts empty."""
        gid = group.group_id
        self._groups[gid] = replace(group, persons=())
        if not keep_persons or gid not in self._persons:
            self._persons[gid] = {p.key: p for p in group.persons}
        self._built.pop(gid, None)

    def drop_group(self, group_id: str) -> None:
        self._groups.pop(group_id, None)
        self._persons.pop(group_id, None)
        self._built.pop(group_id, None)

    def put_person(self, group_id: str, person: LockedPerson, *, train: bool) -> None:
        """Record `person` (replacing the one with its key); `train`: the group's
        training no longer covers its persons."""
        self._persons[group_id][person.key] = person
        self._touch(group_id, train=train)

    def drop_person(self, group_id: str, key: str, *, train: bool) -> None:
        self._persons[group_id].pop(key, None)
        self._touch(group_id, train=train)

    def _touch(self, group_id: str, *, train: bool) -> None:
        group = self._groups[group_id]
        if train and not group.needs_training:
            self._groups[group_id] = replace(group, needs_training=True)
        self._built.pop(group_id, None)

    # --- building the value ------------------------------------------------------------

    def to_state(self) -> LockState:
        """The sorted LockState of what is recorded now (same serial and endpoint)."""
        groups = []
        for gid in sorted(self._groups):
            built = self._built.get(gid)
            if built is None:
                persons = self._persons[gid]
                built = replace(
                    self._groups[gid], persons=tuple(persons[k] for k in sorted(persons))
                )
                self._built[gid] = built
            groups.append(built)
        return LockState(
            endpoint=self.endpoint, serial=self.serial, groups=tuple(groups),
            version=self.version,
        )
