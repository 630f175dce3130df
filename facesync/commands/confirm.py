"""Approving a plan: `--yes`, or an answer typed on a terminal; never without one."""

from __future__ import annotations

import sys

import click

from facesync.errors import UsageError
from facesync.plan.danger import dangerous_groups
from facesync.plan.model import Plan
from facesync.state.model import LockState


def confirm(question: str, *, yes: bool, expected: str = "yes") -> None:
    """Ask on a TTY; refuse without one unless --yes."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            "refusing to change anything without confirmation: "
            "run on a terminal to be asked, or pass --yes"
        )
    click.echo(f"\n{question}\n  Only '{expected}' will be accepted to approve.\n")
    answer = click.prompt("  Enter a value", default="", show_default=False)
    if answer.strip() != expected:
        raise UsageError("cancelled: nothing was changed")


def confirm_plan(
    plan: Plan,
    lock: LockState,
    *,
    yes: bool,
    question: str = "Do you want to perform these actions?",
) -> None:
    """Approve a plan: --yes, or an answer typed on a terminal; never without one.

    The answer is `yes`, except for a plan that deletes, replaces or empties a
    managed group (facesync.plan.danger): then the user types that group's id, or all
    such ids in one answer (separated by spaces or commas, in any order), so
    that a whole gallery is never lost to a reflex `yes`.
    """
    if yes:
        return
    at_risk = dangerous_groups(plan, lock)
    if not at_risk:
        confirm(question, yes=False)
        return
    one = len(at_risk) == 1
    names = ("group " if one else "groups ") + ", ".join(f"'{g}'" for g in at_risk)
    if not sys.stdin.isatty():
        raise UsageError(
            f"refusing to delete or empty {names} without confirmation: "
            f"run on a terminal and type {'its id' if one else 'their ids'} when asked, "
            "or pass --yes"
        )
    click.echo(
        f"\n{question}\n  This plan deletes, replaces or empties {names}, with the persons "
        f"and faces in {'it' if one else 'them'}.\n  Type "
        f"{'its id' if one else 'their ids, separated by spaces,'} to approve: "
        f"{' '.join(at_risk)}\n"
    )
    answer = click.prompt("  Enter a value", default="", show_default=False)
    typed = answer.replace(",", " ").split()
    if sorted(set(typed)) != at_risk or len(typed) != len(at_risk):
        shown = repr(answer.strip()) if answer.strip() else "nothing"
        raise UsageError(
            f"cancelled: you typed {shown}, not {' '.join(at_risk)!r}; nothing was changed"
        )
