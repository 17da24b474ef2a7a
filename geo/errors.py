"""Domain errors raised by ``geo`` and ``layers``.

Every error carries a machine-readable ``code``, the offending ``param`` (if any)
and a message in English and Chinese.  Only ``server/`` maps these classes to
HTTP statuses (see ``server/errors.py``); the library never knows about HTTP.
"""

from __future__ import annotations


class PlanmapError(Exception):
    """Base class of every error planmap reports to a user.

    Parameters
    ----------
    code : str
        Stable machine-readable code, e.g. ``"coordinate_out_of_range"``.
    message_en : str
        What went wrong, in English, naming the offending value.
    message_zh : str, optional
        The same in Chinese; defaults to the English text.
    param : str, optional
        Name of the offending parameter, field or file.
    """

    default_code = "invalid_input"

    def __init__(
        self,
        code: str | None = None,
        message_en: str = "",
        message_zh: str | None = None,
        param: str | None = None,
    ):
        self.code = code or self.default_code
        self.message_en = message_en or self.code
        self.message_zh = message_zh or self.message_en
        self.param = param
        super().__init__(self.message_en)

    def to_dict(self) -> dict:
        """Return the error as plain data (no HTTP status)."""
        return {
            "code": self.code,
            "param": self.param,
            "message_en": self.message_en,
            "message_zh": self.message_zh,
        }


class InvalidInput(PlanmapError):
    """Input that cannot be understood: bad syntax, wrong type, NaN, unknown format."""

    default_code = "invalid_input"


class CRSError(InvalidInput):
    """Unknown CRS, or coordinates outside the CRS's area of use."""

    default_code = "invalid_crs"


class InvalidGeometry(InvalidInput):
    """Geometry that parses but is not valid (GEOS reason in the message)."""

    default_code = "invalid_geometry"


class LimitExceeded(PlanmapError):
    """Input larger than a named limit (bytes, vertices, parts, points)."""

    default_code = "limit_exceeded"


class NotFound(PlanmapError):
    """A layer, feature, stored check or plan that does not exist."""

    default_code = "not_found"


class LayerError(PlanmapError):
    """A layer file that is missing or corrupt (names the file and the problem)."""

    default_code = "layer_error"
