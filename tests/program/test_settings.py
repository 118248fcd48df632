"""The sample pipeline's settings (`pipeline:settings`): apart from the platform's profile, validated by the same
loader, and every problem of both reported at once before anything is declared."""

import pytest

from app.settings import ImageSettings, PipelineSettings, RenditionFormat, load_settings, load_stack_configuration
from components.config import ConfigError
from synth.program import stack_config


def problems(settings: object) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings({"pipeline:settings": settings})
    return raised.value.problems


def test_defaults_accept_the_common_formats_and_keep_originals():
    settings = load_settings({})
    assert settings == PipelineSettings()
    assert settings.images.format is RenditionFormat.AUTO
    assert settings.upload_expiration_days is None
    assert settings.catalog


def test_every_stack_file_has_valid_settings(stack):
    assert isinstance(load_settings(stack_config(stack)).images, ImageSettings)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"images": {"renditionSizes": [512, 2]}}, "pipeline:settings.images.renditionSizes[1]: 2 is not allowed"),
        ({"images": {"renditionSizes": []}}, "pipeline:settings.images.renditionSizes: [] is not allowed; expected a "
         "non-empty list"),
        ({"images": {"format": "gif"}}, "pipeline:settings.images.format: 'gif' is not allowed; expected one of auto"),
        ({"uploadExpirationDays": 0}, "pipeline:settings.uploadExpirationDays: 0 is not allowed; expected an integer "
         "from 1 to 36500 or null"),
        ({"catalog": "yes"}, "pipeline:settings.catalog: 'yes' is not allowed; expected true or false"),
        ({"imgaes": {}}, "pipeline:settings.imgaes: unknown key (did you mean 'images'?)"),
    ],
    ids=["size", "no-sizes", "format", "expiry", "catalog", "typo"],
)  # fmt: skip
def test_each_bad_setting_names_key_value_and_what_is_allowed(settings, expected):
    (problem,) = problems(settings)
    assert expected in problem


def test_an_unknown_key_of_the_namespace_is_refused():
    with pytest.raises(ConfigError) as raised:
        load_settings({"pipeline:setings": {}})
    assert raised.value.problems[0].startswith("pipeline:setings: unknown key (did you mean 'pipeline:settings'?)")


def test_profile_and_settings_problems_are_reported_together(monkeypatch):
    config = {"aws:region": "eu-west-1", "platform:profile": {"allowedAccountIds": ["111122223333"], "protect": 1},
              "pipeline:settings": {"catalog": 1}}  # fmt: skip
    monkeypatch.setattr("components.profile.current_config", lambda: config)
    monkeypatch.setattr("app.settings.current_config", lambda: config)
    with pytest.raises(ConfigError) as raised:
        load_stack_configuration()
    assert [p.split(":", 2)[:2] for p in raised.value.problems] == [["platform", "profile.protect"],
                                                                   ["pipeline", "settings.catalog"]]  # fmt: skip
