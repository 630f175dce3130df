"""Saved plans (`plan -o FILE`, then `apply FILE`), refused once stale.

A saved plan is the --json plan plus the `data` apply needs: each change's and
lock-only update's payload (facesync.plan.payloads), read back into the same
dataclass with every field checked. It records the manifest digest, the lock
serial and the endpoint it was made from (never the key): if any of them
moved, the plan no longer describes the difference.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

from facesync.atomic import write_atomically
from facesync.errors import PlanError, os_error_line
from facesync.plan.model import (
    Action,
    Address,
    Change,
    LockAction,
    LockUpdate,
    Plan,
    ResourceType,
    Unmanaged,
    change_payload_type,
    lock_payload_type,
)
from facesync.plan.payloads import Forget, PayloadError, from_data, to_data
from facesync.plan.render import FORMAT_VERSION, change_to_json, lock_update_to_json, plan_to_json
from facesync.private_files import warn_if_loose
from facesync.schemas_dir import json_path, load_schema
from facesync.state.lock_checks import saved_ids_problem

P = TypeVar("P")
TARGETS = "targets"  # of a saved plan only: the --target addresses, as typed


def change_doc(change: Change) -> dict[str, Any]:
    """A change as a saved plan holds it: its --json form plus its payload as `data`."""
    return {**change_to_json(change), "data": to_data(change.payload)}


def change_from_doc(doc: object) -> Change:
    """A change read back from `change_doc`'s form; a PlanError says what is wrong."""
    keys = ("address", "action", "type", "reason", "before", "after", "data")
    if not isinstance(doc, dict) or not all(k in doc for k in keys):
        raise PlanError("not a saved change")
    try:
        return _change(doc, [])
    except _Invalid as exc:
        raise PlanError(str(exc)) from None
    except ValueError as exc:  # an unknown action, an address that does not parse
        raise PlanError(f"not a saved change ({exc})") from None


def plan_file_doc(plan: Plan) -> dict[str, Any]:
    """The saved form: the JSON plan with every change's and lock update's payload
    as its `data`, and the --target addresses it was made for, if any (an apply of
    a targeted plan judges nothing outside them: it keeps the journal's other intents)."""
    doc = plan_to_json(plan)
    doc["changes"] = [change_doc(c) for c in plan.changes]
    doc["lock_only"] = [
        {**lock_update_to_json(u), "data": to_data(u.payload)} for u in plan.lock_updates
    ]
    if plan.targets:
        doc[TARGETS] = [str(t) for t in plan.targets]
    return doc


def save_plan(plan: Plan, path: Path) -> None:
    text = json.dumps(plan_file_doc(plan), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    try:
        write_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        if exc.filename is None:
            exc = OSError(exc.errno, exc.strerror, str(path))
        raise PlanError(f"cannot write the plan file: {os_error_line(exc)}") from None


def load_plan(path: Path) -> Plan:
    """Read a plan saved by `plan -o`; anything else is a PlanError naming the file."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PlanError(f"no plan file at {path}; save one with `facesync plan -o {path}`") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(
            f"the plan file {path} cannot be read as JSON ({exc}); "
            "save it again with `facesync plan -o`"
        ) from exc
    if isinstance(doc, dict) and doc.get("format_version") not in (None, FORMAT_VERSION):
        raise PlanError(
            f"the plan file {path} has format version {doc.get('format_version')!r}; "
            f"this facesync reads version {FORMAT_VERSION}: plan again"
        )
    warn_if_loose(path)  # names and userData in clear, and absolute photo paths
    targets = _targets(doc, path)
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        where = json_path(errors[0].absolute_path, top="top level")
        raise PlanError(
            f"the plan file {path} is not a facesync plan ({where}: {errors[0].message}); "
            "save it again with `facesync plan -o`"
        )
    if any("data" not in c for c in doc["changes"] + doc["lock_only"]):
        raise PlanError(
            f"the plan file {path} was printed by `plan --json`, which cannot be applied; "
            "save a plan with `facesync plan -o FILE`"
        )
    try:
        return replace(_plan_from_doc(doc), targets=targets)
    except _Invalid as exc:
        raise PlanError(
            f"the plan file {path} is not a facesync plan ({exc}); "
            "save it again with `facesync plan -o`"
        ) from None


def _targets(doc: object, path: Path) -> tuple[Address, ...]:
    """The saved plan's --target addresses (none: it was made for everything)."""
    if not isinstance(doc, dict) or TARGETS not in doc:
        return ()
    given = doc[TARGETS]
    if not isinstance(given, list) or not given or not all(
        isinstance(t, str) and _is_target(t) for t in given
    ):
        raise PlanError(
            f"the plan file {path} is not a facesync plan (targets: expected a list of "
            "GROUP or GROUP/PERSON addresses); save it again with `facesync plan -o`"
        )
    return tuple(Address.parse_target(t) for t in given)


def _is_target(text: str) -> bool:
    group, _, person = text.partition("/")
    return bool(group) and "/" not in person and text == str(Address.parse_target(text))


class _Invalid(Exception):
    """A part of a schema-valid plan file that is not a plan: `where: what`."""

    def __init__(self, where: list[str | int], problem: str) -> None:
        super().__init__(f"{json_path(where, top='top level')}: {problem}")


def _plan_from_doc(doc: dict[str, Any]) -> Plan:
    return Plan(
        changes=tuple(_change(c, ["changes", i]) for i, c in enumerate(doc["changes"])),
        unmanaged=tuple(Unmanaged(u["address"], u["description"]) for u in doc["unmanaged"]),
        warnings=tuple(doc["warnings"]),
        notes=tuple(doc.get("notes", ())),  # plans saved before notes existed have none
        manifest_digest=doc["manifest_digest"],
        lock_serial=doc["lock_serial"],
        endpoint=doc["endpoint"],
        lock_updates=tuple(
            _lock_update(u, ["lock_only", i]) for i, u in enumerate(doc["lock_only"])
        ),
    )


def _change(item: dict[str, Any], where: list[str | int]) -> Change:
    address, action = Address.parse(item["address"]), Action(item["action"])
    _same_type(item, address, where)
    kind = change_payload_type(address.type, action)
    if kind is None:
        raise _Invalid(where, f"a {address.type.value} has no {action.value} change")
    payload = _payload(kind, item["data"], where)
    return Change(address, action, item["reason"], item["before"], item["after"],
                  payload=payload)


def _lock_update(item: dict[str, Any], where: list[str | int]) -> LockUpdate:
    address, action = Address.parse(item["address"]), LockAction(item["action"])
    kind = lock_payload_type(address.type, action)
    if kind is None:
        raise _Invalid(where, f"a {address.type.value} has no {action.value} update")
    payload = _payload(kind, item["data"], where)
    if isinstance(payload, Forget) and _forgets(payload) is not address.type:
        raise _Invalid([*where, "data"], f"forgets a {_forgets(payload).value}, but "
                       f"{item['address']!r} is a {address.type.value}")
    return LockUpdate(address, action, item["description"], payload)


def _forgets(forget: Forget) -> ResourceType:
    """What a forget removes from the lock (as engine.record.finish reads it)."""
    if forget.person_key is None:
        return ResourceType.GROUP
    return ResourceType.PERSON if forget.sha256 is None else ResourceType.FACE


def _same_type(item: dict[str, Any], address: Address, where: list[str | int]) -> None:
    if item["type"] != address.type.value:
        raise _Invalid([*where, "type"], f"{item['type']!r} but {item['address']!r} is a "
                       f"{address.type.value}")


def _payload(kind: type[P], data: object, where: list[str | int]) -> P:
    try:
        payload = from_data(kind, data)
    except PayloadError as exc:
        at = [*where, "data"] + ([exc.field if exc.field.isprintable() else repr(exc.field)]
                                 if exc.field else [])
        raise _Invalid(at, exc.problem) from None
    bad = saved_ids_problem(data)  # type: ignore[arg-type]  # a dict once from_data took it
    if bad is not None:  # a saved plan is untrusted input, as the lock is
        raise _Invalid([*where, "data", bad[0]], bad[1])
    return payload


def check_fresh(plan: Plan, *, manifest_digest: str, lock_serial: int, endpoint: str) -> None:
    """Refuse a plan made from another manifest, lock or endpoint, naming what moved."""
    moved = []
    if plan.manifest_digest != manifest_digest:
        moved.append("the manifest or its images changed")
    if plan.lock_serial != lock_serial:
        moved.append(
            f"the lock file was written since (serial {plan.lock_serial} -> {lock_serial})"
        )
    if plan.endpoint != endpoint:
        moved.append(f"it was made for {plan.endpoint or 'no endpoint'}, not {endpoint}")
    if moved:
        raise PlanError(
            "the saved plan is stale: " + "; ".join(moved)
            + "; run `facesync plan -o FILE` again"
        )


@cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # slow to import: only when a plan is read

    return Draft202012Validator(load_schema("plan.schema.json"))
