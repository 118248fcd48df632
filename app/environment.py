"""The handlers' settings, from the profile and the pipeline's settings: what `handlers/imaging/settings.py` and
`pipeline/context.py` read, under the names of `handlers/pipeline/contract.py`."""

import pulumi

from app.settings import ImageSettings
from components.profile import EnvironmentProfile
from handlers.pipeline.contract import (
    IDEMPOTENCY_TABLE_ENV,
    KEEP_PERSONAL_EXIF_ENV,
    MAX_IMAGE_BYTES_ENV,
    MAX_IMAGE_PIXELS_ENV,
    RENDER_MEMORY_ENV,
    RENDITION_FORMAT_ENV,
    RENDITION_QUALITY_ENV,
    RENDITION_SIZES_ENV,
    RESULTS_BUCKET_ENV,
    TABLE_NAME_ENV,
    UPLOAD_PREFIX_ENV,
)

SERVICE_NAME = "image-pipeline"


def handler_environment(
    profile: EnvironmentProfile,
    images: ImageSettings,
    *,
    table: pulumi.Input[str],
    results_bucket: pulumi.Input[str],
    idempotency_table: pulumi.Input[str],
    upload_prefix: str,
) -> dict[str, pulumi.Input[str]]:
    return {
        TABLE_NAME_ENV: table,
        RESULTS_BUCKET_ENV: results_bucket,
        IDEMPOTENCY_TABLE_ENV: idempotency_table,
        UPLOAD_PREFIX_ENV: upload_prefix,
        RENDER_MEMORY_ENV: str(profile.lambda_.memory_mb),
        RENDITION_SIZES_ENV: ",".join(str(size) for size in images.rendition_sizes),
        RENDITION_FORMAT_ENV: images.format.value.upper(),
        RENDITION_QUALITY_ENV: str(images.quality),
        MAX_IMAGE_BYTES_ENV: str(images.max_megabytes * 1024 * 1024),
        MAX_IMAGE_PIXELS_ENV: str(images.max_megapixels * 1_000_000),
        KEEP_PERSONAL_EXIF_ENV: str(images.keep_personal_exif).lower(),
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
    }
