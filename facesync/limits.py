"""The Face API's limits, in one place for the local checks and the emulator.

The emulator enforces them and the manifest checks them before any call;
docs/emulator.md lists where each one comes from.
"""

from __future__ import annotations

import re

# The same patterns as schemas/manifest.schema.json. "(?!\n)" because Python's
# "$" (which jsonschema uses) would also accept a trailing newline.
GROUP_ID_RE = re.compile(r"^[a-z0-9_-]{1,64}(?!\n)$")
PERSON_KEY_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}(?!\n)$")

# Text lengths in UTF-16 code units, as the service counts them (facesync.text_rules).
NAME_MAX_CHARS = 128
USER_DATA_MAX_CHARS = 16384  # groups and persons ("16KB")
FACE_USER_DATA_MAX_CHARS = 1024  # faces ("1KB")
FACES_PER_PERSON_MAX = 248

IMAGE_MIN_BYTES = 1024
IMAGE_MAX_BYTES = 6 * 1024 * 1024  # 6 MB: today's service limit
FACE_MIN_PX = 36
FACE_MAX_PX = 4096
# Larger than any photo the service takes, small enough that a decompression
# bomb (a tiny file that decodes to gigapixels) is refused before decoding.
IMAGE_MAX_PIXELS = 64 * 1024 * 1024

# Which formats, and how an image is opened and decoded: facesync.image_rules.
# How a text's length is counted (UTF-16 units): facesync.text_rules.

RECOGNITION_MODELS = ("recognition_01", "recognition_02", "recognition_03", "recognition_04")
DETECTION_MODELS = ("detection_01", "detection_02", "detection_03")
# What the service uses when a request names no model. A manifest's own
# defaults (facesync.manifest.model) are newer models and differ on purpose.
SERVICE_DEFAULT_RECOGNITION_MODEL = "recognition_01"
SERVICE_DEFAULT_DETECTION_MODEL = "detection_01"

LIST_TOP_MAX = 1000
IDENTIFY_FACE_IDS_MAX = 10

# Calls per second each pricing tier allows (free: 20 per minute).
TIER_RATES = {"free": 20 / 60, "S0": 10.0, "unlimited": None}
