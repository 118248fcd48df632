"""The handlers' settings, from the profile: what `handlers/imaging/settings.py` and `pipeline/context.py` read."""

import pulumi

from components.profile import EnvironmentProfile

SERVICE_NAME = "image-pipeline"


def handler_environment(
    profile: EnvironmentProfile,
    *,
    table: pulumi.Input[str],
    results_bucket: pulumi.Input[str],
    idempotency_table: pulumi.Input[str],
    upload_prefix: str,
) -> dict[str, pulumi.Input[str]]:
    images = profile.images
    return {
        "TABLE_NAME": table,
        "RESULTS_BUCKET": results_bucket,
        "IDEMPOTENCY_TABLE": idempotency_table,
        "UPLOAD_PREFIX": upload_prefix,
        "RENDER_MEMORY_MB": str(profile.lambda_.memory_mb),
        "RENDITION_SIZES": ",".join(str(size) for size in images.rendition_sizes),
        "RENDITION_FORMAT": images.format.value.upper(),
        "RENDITION_QUALITY": str(images.quality),
        "MAX_IMAGE_BYTES": str(images.max_megabytes * 1024 * 1024),
        "MAX_IMAGE_PIXELS": str(images.max_megapixels * 1_000_000),
        "KEEP_PERSONAL_EXIF": str(images.keep_personal_exif).lower(),
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
    }
