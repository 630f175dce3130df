"""A sync as a person sees it: the plan, the question, the bar, the report.

`TerminalUI` is the command layer's side of facesync.engine.sync.SyncUI and
`DestroyUI` its wording for destroy; `print_report` and `print_destroy_report`
turn the engine's ApplyReport into the closing lines and the exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import click

from facesync.commands.common import say, use_color
from facesync.commands.confirm import confirm_plan
from facesync.commands.progress import make_progress
from facesync.engine.events import ChangeEvents
from facesync.engine.executor import ApplyReport
from facesync.engine.outcomes import HalfReplaced
from facesync.plan.model import Action, Address, Plan, ResourceType
from facesync.plan.render import (
    Contents,
    adoption_line,
    counted,
    destroyed_contents,
    render_destroy,
    render_human,
    summary_line,
)
from facesync.state.model import LockState


class TerminalUI:
    """Prints to stdout (warnings to stderr); asks on a terminal unless `yes`."""

    label = "Applying"  # the progress bar's first word

    def __init__(self, *, yes: bool, question: str = "Do you want to perform these actions?"):
        self.yes = yes
        self.question = question

    def show_plan(self, plan: Plan) -> None:
        click.echo(render_human(plan, color=use_color()))

    def approve(self, plan: Plan, lock: LockState) -> None:
        confirm_plan(plan, lock, yes=self.yes, question=self.question)

    @contextmanager
    def progress(self, total_calls: int) -> Iterator[ChangeEvents]:
        with make_progress(
            total_calls, tty=sys.stdout.isatty(), color=use_color(), label=self.label
        ) as events:
            yield events

    def announce(self, text: str, plan: Plan | None) -> None:
        """Between passes: why; then what the new plan adopts and how much remains
        (`Pass 2: 2 to adopt, 0 to add, 0 to change, 0 to destroy, 1 to train.`)."""
        if plan is None:
            click.echo(f"\n{text}")
            return
        for update in plan.adoptions:
            click.echo(adoption_line(update))
        click.echo(f"{text}: {summary_line(plan).removeprefix('Plan: ')}")

    def warn(self, text: str) -> None:
        say(text)


class DestroyUI(TerminalUI):
    """Destroy's wording. Its plan is printed once the lock it deletes from is
    known (`approve` gets it, and a sync asks for approval of every destroy plan
    that has changes), so that each group says what goes with it."""

    label = "Destroying"

    def __init__(self, *, yes: bool) -> None:
        super().__init__(yes=yes, question="Do you really want to destroy these objects?")
        self.contents: dict[Address, Contents] = {}

    def show_plan(self, plan: Plan) -> None:
        if not plan.has_changes:
            click.echo(render_destroy(plan, {}, color=use_color()))

    def approve(self, plan: Plan, lock: LockState) -> None:
        self.contents = destroyed_contents(plan, lock)
        click.echo(render_destroy(plan, self.contents, color=use_color()))
        super().approve(plan, lock)


def recovery_line(report: ApplyReport) -> str | None:
    """`Recovered from 3 failed calls in 2 extra passes (14 extra calls).`, or
    `Adopted 2 objects left by an interrupted apply (3 extra calls).`; None when
    there was nothing to recover."""
    extra = report.passes - 1
    calls = f"({report.reconcile_calls} extra call{_s(report.reconcile_calls)})"
    if extra > 0:
        verb = "Recovered from" if report.ok else "Tried to recover from"
        return (
            f"{verb} {report.recovered} failed call{_s(report.recovered)} in {extra} extra "
            f"pass{'' if extra == 1 else 'es'} {calls}."
        )
    if report.adopted:
        return (
            f"Adopted {report.adopted} object{_s(report.adopted)} left by an interrupted "
            f"apply {calls}."
        )
    return None


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def print_report(report: ApplyReport) -> int:
    done = [c for c in report.succeeded if c.action is not Action.TRAIN]
    counts = Plan(changes=tuple(done)).counts()
    for _change, error in report.failed:  # a replacement that made one of its two calls
        if isinstance(error, HalfReplaced):
            counts["add" if error.added else "destroy"] += 1
    click.echo(
        f"\nApply {'complete' if report.ok else 'incomplete'}! Resources: "
        f"{counts['add']} added, {counts['change']} changed, {counts['destroy']} destroyed."
    )
    return _report_tail(report)


def destroyed_line(report: ApplyReport, contents: Mapping[Address, Contents]) -> str:
    """`Destroy complete! Resources: 1 group, 6 persons, 13 faces destroyed.`:
    the deletes that succeeded and what went with them, as the plan counted it."""
    groups = persons = faces = 0
    for change in report.succeeded:
        if change.action is not Action.DELETE:
            continue
        kind, inside = change.address.type, contents.get(change.address, Contents())
        groups += kind is ResourceType.GROUP
        persons += (kind is ResourceType.PERSON) + inside.persons
        faces += (kind is ResourceType.FACE) + inside.faces
    state = "complete" if report.ok else "incomplete"
    return (
        f"Destroy {state}! Resources: {counted(groups, 'group')}, "
        f"{counted(persons, 'person')}, {counted(faces, 'face')} destroyed."
    )


def print_destroy_report(report: ApplyReport, contents: Mapping[Address, Contents]) -> int:
    click.echo(f"\n{destroyed_line(report, contents)}")
    return _report_tail(report, "destroy")


def _report_tail(report: ApplyReport, command: str = "apply") -> int:
    """Recovery, training and errors after the closing line; the exit code."""
    recovered = recovery_line(report)
    if recovered:
        click.echo(recovered)
    for group_id, info in sorted(report.training.items()):
        click.echo(f"Training of {group_id}: {info.status}.")
    for _change, error in report.failed:
        click.echo(f"Error: {error}", err=True)
    if report.skipped:
        click.echo(
            f"{len(report.skipped)} change(s) skipped because they depend on a failed one; "
            f"fix the error above and run {command} again.",
            err=True,
        )
    return 0 if report.ok else 1
