"""The local cloud's sessions parse each botocore model once per process (emulator/models.py)."""

import boto3
from botocore import loaders

from emulator import models


def test_inside_every_new_session_gets_the_model_the_first_one_parsed():
    with models.shared():
        first = boto3.Session(region_name="eu-west-1")._session.get_service_model("sqs")
        second = boto3.Session(region_name="eu-west-1")._session.get_service_model("sqs")
    assert first._service_description is second._service_description


def test_outside_a_loader_keeps_a_cache_of_its_own():
    with models.shared():
        inside = loaders.Loader()
    outside = loaders.Loader()
    assert outside._cache is not inside._cache
    assert outside._cache == {}
