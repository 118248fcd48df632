"""The local cloud's sessions parse each botocore model once per process (emulator/models.py)."""

from pathlib import Path

import boto3
from botocore import loaders

from emulator import models


def test_inside_every_new_session_gets_the_model_the_first_one_parsed():
    with models.shared():
        first = boto3.Session(region_name="eu-west-1")._session.get_service_model("sqs")
        second = boto3.Session(region_name="eu-west-1")._session.get_service_model("sqs")
    assert first._service_description is second._service_description


def test_a_loader_with_other_search_paths_keeps_a_cache_of_its_own(tmp_path: Path):
    with models.shared():
        default = loaders.Loader()
        elsewhere = loaders.Loader(extra_search_paths=[str(tmp_path)])
    assert elsewhere._cache is not default._cache


def test_on_exit_loaders_are_made_as_before():
    before = loaders.Loader.__init__
    with models.shared():
        assert loaders.Loader.__init__ is not before
    assert loaders.Loader.__init__ is before
