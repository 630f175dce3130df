"""An OS error a user meets is one sentence: what, which file, what to do."""

from __future__ import annotations

import errno

from facesync.errors import os_error_line


def test_a_full_disk_names_the_file_and_says_to_free_space() -> None:
    line = os_error_line(OSError(errno.ENOSPC, "No space left on device", "/srv/g/x.lock.json"))
    assert line.startswith("No space left on device (/srv/g/x.lock.json): free some space")
    assert "\n" not in line


def test_a_read_only_folder_says_so() -> None:
    line = os_error_line(OSError(errno.EROFS, "Read-only file system", "/ro/facesync.lock.json"))
    assert "(/ro/facesync.lock.json)" in line and "read-only" in line


def test_an_error_without_a_file_still_says_what_to_do() -> None:
    line = os_error_line(OSError(errno.EIO, "Input/output error"))
    assert line.startswith("Input/output error: the disk reported an I/O error")
