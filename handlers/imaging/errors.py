"""Why an image was refused. Each class name is stable: the workflow routes on it and the table records it."""


class ImageError(Exception):
    """Base of every refusal; `reason` is the human-readable explanation recorded with the FAILED state."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def code(self) -> str:
        return type(self).__name__


class UnsupportedFormat(ImageError):
    """The bytes are not one of the allowed formats (the extension and Content-Type are not trusted)."""


class ImageTooLarge(ImageError):
    """The file is over the size limit in bytes; refused before it is read."""


class TooManyPixels(ImageError):
    """The header declares more pixels than allowed: a possible decompression bomb, refused before decoding."""


class CorruptImage(ImageError):
    """Empty, truncated or undecodable data."""
