"""Ownership markers that facesync writes into userData the manifest leaves free.

A person created by facesync carries `facesync:key=<person key>` and a face
carries `facesync:sha256=<image key>` (the short key of its bytes; before lock
format 2 it was the hex SHA-256, and both are recognised) unless the manifest
sets their userData. The markers let a later run recognise its own objects (for
example one created just before a crash) and never mistake someone else's
object for its own.
"""

from __future__ import annotations

PERSON_PREFIX = "facesync:key="
FACE_PREFIX = "facesync:sha256="


def person_user_data(key: str, user_data: str | None) -> str:
    """The userData facesync sends for a person."""
    return user_data if user_data is not None else PERSON_PREFIX + key


def face_user_data(sha256: str, user_data: str | None) -> str:
    """The userData facesync sends for a face."""
    return user_data if user_data is not None else FACE_PREFIX + sha256


def person_key_from_marker(user_data: str | None) -> str | None:
    if user_data and user_data.startswith(PERSON_PREFIX):
        return user_data[len(PERSON_PREFIX) :]
    return None


def face_sha_from_marker(user_data: str | None) -> str | None:
    if user_data and user_data.startswith(FACE_PREFIX):
        return user_data[len(FACE_PREFIX) :]
    return None
