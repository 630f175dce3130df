"""Every error the emulator answers with: status, code and message in one place.

Wording follows the Face API's error reference; the few rows it leaves
open are marked "ours". A spec is formatted with the
group kind (`{Code}` -> PersonGroup / LargePersonGroup, `{noun}` -> Person
group / Large person group) and any named values, then raised as an
EmulatorError, which the app turns into `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from facesync.emulator.kinds import GroupKind


class EmulatorError(Exception):
    """A Face API error answer: HTTP status, service code and message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    code: str
    message: str
    headers: tuple[tuple[str, str], ...] = field(default=())

    def error(self, kind: GroupKind | None = None, **values: object) -> EmulatorError:
        names: dict[str, object] = dict(values)
        if kind is not None:
            names.update(Code=kind.code, noun=kind.noun, noun_lower=kind.noun_lower)
        headers = {key: value.format_map(names) for key, value in self.headers}
        return EmulatorError(
            self.status, self.code.format_map(names), self.message.format_map(names), headers
        )


BAD_ARGUMENT = "BadArgument"

# -- transport: auth, routing, media type, bodies ------------------------------------------
UNAUTHORIZED = ErrorSpec(
    401,
    "401",
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide"
    " a valid key for an active subscription and use a correct regional API endpoint for your"
    " resource.",
)
RESOURCE_NOT_FOUND = ErrorSpec(404, "404", "Resource not found")  # the gateway's answer
MEDIA_TYPE = ErrorSpec(415, BAD_ARGUMENT, "Invalid Media Type.")
BODY_INVALID = ErrorSpec(400, BAD_ARGUMENT, "Request body is invalid.")
JSON_PARSING = ErrorSpec(400, BAD_ARGUMENT, "JSON parsing error.")
RATE_LIMITED = ErrorSpec(
    429,
    "429",
    "Rate limit is exceeded. Try again in {seconds} seconds.",
    (("Retry-After", "{seconds}"),),
)
INTERNAL = ErrorSpec(500, "InternalServerError", "An internal server error occurred.")  # ours
UNAVAILABLE = ErrorSpec(503, "ServiceUnavailable", "The service is temporarily unavailable.")

# -- arguments ------------------------------------------------------------------------------
RECOGNITION_MODEL_INVALID = ErrorSpec(400, BAD_ARGUMENT, "'recognitionModel' is invalid.")
DETECTION_MODEL_INVALID = ErrorSpec(400, BAD_ARGUMENT, "'detectionModel' is invalid.")
NAME_EMPTY = ErrorSpec(400, BAD_ARGUMENT, "'name' is empty.")
NAME_TOO_LONG = ErrorSpec(400, BAD_ARGUMENT, "'name' is too long.")
USER_DATA_TOO_LONG = ErrorSpec(400, BAD_ARGUMENT, "'userData' is too long.")
NAME_AND_USER_DATA_EMPTY = ErrorSpec(400, BAD_ARGUMENT, "Both 'name' and 'userData' are empty.")
START_TOO_LONG = ErrorSpec(400, BAD_ARGUMENT, "'start' is too long.")
TOP_INVALID = ErrorSpec(400, BAD_ARGUMENT, "'top' is invalid.")
PARAM_INVALID = ErrorSpec(400, BAD_ARGUMENT, "'{param}' is invalid.")  # ours, same pattern
TARGET_FACE_INVALID = ErrorSpec(400, BAD_ARGUMENT, "Invalid argument targetFace.")
TARGET_FACE_OUT_OF_RANGE = ErrorSpec(400, BAD_ARGUMENT, "Argument targetFace out of range.")

# -- images ---------------------------------------------------------------------------------
URL_INVALID = ErrorSpec(400, "InvalidURL", "Invalid image URL.")
URL_DOWNLOAD_FAILED = ErrorSpec(
    400,
    "InvalidURL",
    "Invalid image URL or error downloading from target server. Remote server error returned:"
    ' "An error occurred while sending the request."',
)
IMAGE_UNSUPPORTED = ErrorSpec(400, "InvalidImage", "Decoding error, image format unsupported.")
NO_FACE = ErrorSpec(400, "InvalidImage", "No face detected in the image.")
MORE_THAN_ONE_FACE = ErrorSpec(400, "InvalidImage", "There is more than 1 face in the image.")
IMAGE_TOO_SMALL = ErrorSpec(400, "InvalidImageSize", "Image size is too small.")
IMAGE_TOO_BIG = ErrorSpec(400, "InvalidImageSize", "Image size is too big.")

# -- detect ---------------------------------------------------------------------------------
ATTRIBUTES_INVALID = ErrorSpec(400, BAD_ARGUMENT, "Invalid argument returnFaceAttributes.")
ATTRIBUTES_NOT_WITH_DETECTION_02 = ErrorSpec(
    400, BAD_ARGUMENT, "'returnFaceAttributes' is not supported by detection_02."
)
LANDMARKS_NOT_WITH_DETECTION_02 = ErrorSpec(
    400, BAD_ARGUMENT, "'returnLandmarks' is not supported by detection_02."
)
ATTRIBUTES_RETIRED = ErrorSpec(
    403,
    "UnsupportedFeature",
    "Return Attributes (emotion, gender, age, smile, facial hair, hair and makeup) have been"
    " deprecated and are no longer supported.",
)

# -- identify (missing groups are 400 here, not 404) ----------------------------------------
RECOGNITION_MODEL_INCOMPATIBLE = ErrorSpec(400, BAD_ARGUMENT, "'recognitionModel' is incompatible.")
IDENTIFY_GROUP_ID_INVALID = ErrorSpec(400, BAD_ARGUMENT, "{noun} ID is invalid.")
MAX_CANDIDATES_INVALID = ErrorSpec(
    400, BAD_ARGUMENT, "The argument maxNumOfCandidatesReturned is not valid."
)
CONFIDENCE_THRESHOLD_INVALID = ErrorSpec(
    400, BAD_ARGUMENT, "The argument confidenceThreshold is not valid."
)
FACE_IDS_LENGTH = ErrorSpec(400, BAD_ARGUMENT, "The length of faceIds is not in a valid range.")
FACE_NOT_FOUND = ErrorSpec(400, "FaceNotFound", "Face is not found.")
IDENTIFY_GROUP_NOT_FOUND = ErrorSpec(400, "{Code}NotFound", "{noun} is not found.")
IDENTIFY_NOT_TRAINED = ErrorSpec(400, "{Code}NotTrained", "{noun} not trained.")
GROUP_IDS_BOTH_NOT_NULL = ErrorSpec(
    400,
    "PersonGroupIdAndLargePersonGroupIdBothNotNull",
    "Large person group ID and person group ID are both not null.",
)
GROUP_IDS_BOTH_NULL = ErrorSpec(
    400,
    "PersonGroupIdAndLargePersonGroupIdBothNull",
    "Large person group ID and person group ID are both null.",
)

# -- groups, persons, persisted faces -------------------------------------------------------
GROUP_ID_INVALID_ON_CREATE = ErrorSpec(400, BAD_ARGUMENT, "{noun} ID is invalid.")
GROUP_ID_INVALID = ErrorSpec(404, "{Code}NotFound", "{noun} ID is invalid.")
GROUP_NOT_FOUND = ErrorSpec(404, "{Code}NotFound", "{noun} is not found.")
GROUP_EXISTS = ErrorSpec(409, "{Code}Exists", "{noun} already exists.")
GROUP_QUOTA = ErrorSpec(403, "QuotaExceeded", "{noun} number reached subscription level limit.")
PERSON_GROUP_LEVEL_QUOTA = ErrorSpec(
    403, "QuotaExceeded", "Person number reached {noun_lower} level limit."
)
PERSON_SUBSCRIPTION_QUOTA = ErrorSpec(
    403, "QuotaExceeded", "Person number reached subscription level limit."
)
FACE_QUOTA = ErrorSpec(403, "QuotaExceeded", "Persisted face number reached limit.")
PERSON_ID_INVALID = ErrorSpec(404, "PersonNotFound", "Person ID is invalid.")
PERSON_NOT_FOUND = ErrorSpec(404, "PersonNotFound", "Person {person_id} is not found.")
FACE_ID_INVALID = ErrorSpec(404, "PersistedFaceNotFound", "Persisted face ID is invalid.")
PERSISTED_FACE_NOT_FOUND = ErrorSpec(
    404, "PersistedFaceNotFound", "Persisted face {face_id} is not found."
)
NOT_TRAINED = ErrorSpec(404, "{Code}NotTrained", "{noun} not trained.")
TRAINING_NOT_FINISHED = ErrorSpec(409, "{Code}TrainingNotFinished", "{noun} is under training.")

# -- training failures (the service's wording is unpublished: ours) -------------------------
TRAINING_NO_PERSON = "There is no person in the {noun_lower}."
TRAINING_NO_FACE = "There is no persisted face in the {noun_lower}."
