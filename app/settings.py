"""The sample pipeline's own settings, beside the platform's profile: what it accepts, the renditions it makes, how
long it keeps originals, and whether it keeps a catalog. Read from the stack file's `pipeline:settings` object by
the platform's loader (components/config.py), so a bad value fails before anything is declared, named by key."""

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.config import ConfigError, current_config, load_section, setting
from components.profile import EnvironmentProfile, load_profile

CONFIG_NAMESPACE = "pipeline"
"""Fixed, not the project's name, so that renaming the project (a fork, `pulumi new`) keeps the stack files valid."""
SETTINGS_KEY = "settings"


class RenditionFormat(enum.StrEnum):
    AUTO = "auto"
    """JPEG for opaque images, WebP for images with transparency."""
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"


@dataclass(frozen=True)
class ImageSettings:
    rendition_sizes: tuple[int, ...] = setting((1024, 512, 128), "Longest side of each rendition.", low=16, high=8192)
    format: RenditionFormat = setting(RenditionFormat.AUTO, "Output format of the renditions.")
    quality: int = setting(82, "JPEG/WebP quality of the renditions.", low=1, high=100)
    max_megabytes: int = setting(40, "Uploads over this size are refused before they are read.", low=1, high=5120)
    max_megapixels: int = setting(
        200, "Images whose header declares more are refused before decoding.", low=1, high=1000
    )
    keep_personal_exif: bool = setting(False, "Keep GPS position, owner and serial numbers in the image records.")


@dataclass(frozen=True)
class PipelineSettings:
    images: ImageSettings = setting(ImageSettings(), "What the pipeline accepts and the renditions it makes.")
    upload_expiration_days: int | None = setting(
        None, "Delete uploaded originals after this many days; null keeps them.", low=1, high=36500
    )
    catalog: bool = setting(True, "Keep an Aurora Serverless v2 catalog of processed images.")
    failed_images_per_hour: int = setting(
        10, "The images-failed alarm fires when more images than this end FAILED within an hour (refusals "
        "included: a burst of bad uploads is worth a look too).", low=0, high=1_000_000,
    )  # fmt: skip


def load_settings(config: Mapping[str, Any] | None = None) -> PipelineSettings:
    """Read and validate the stack's pipeline settings. With no argument it reads the running stack's config."""
    problems: list[str] = []
    settings = load_section(PipelineSettings, current_config() if config is None else config, CONFIG_NAMESPACE,
                            SETTINGS_KEY, problems)  # fmt: skip
    if problems:
        raise ConfigError(problems)
    return settings


def load_stack_configuration() -> tuple[EnvironmentProfile, PipelineSettings]:
    """The platform's profile and the pipeline's settings, every problem of both reported at once."""
    problems: list[str] = []
    loaded: list[Any] = []
    for load in (load_profile, load_settings):
        try:
            loaded.append(load())
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    profile, settings = loaded
    return profile, settings
