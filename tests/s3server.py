"""A real S3-compatible server on 127.0.0.1 for the tests: moto in server mode, in a thread.

`running_s3_server()` starts one; `object_storages` switches the site's uploads to
buckets on it the way S3_* settings do (topicshare/settings/base.py), for one test."""

import contextlib
import uuid
from dataclasses import dataclass

import boto3
from django.core.files.storage import storages
from django.test import override_settings

from tests.processes import free_port

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"  # noqa: S105 — moto accepts any
REGION = "us-east-1"


@dataclass
class S3Server:
    endpoint_url: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def keys(self, bucket: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return sorted(entry["Key"] for entry in listing.get("Contents", []))


@contextlib.contextmanager
def running_s3_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


def s3_storages_setting(endpoint_url: str, bucket: str, private_bucket: str) -> dict:
    """What base.py builds from S3_BUCKET, S3_PRIVATE_BUCKET, S3_ENDPOINT_URL and the keys."""
    common = {
        "endpoint_url": endpoint_url,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "region_name": REGION,
        "signature_version": "s3v4",
        "file_overwrite": False,
    }
    return {
        "default": {
            "BACKEND": "topicshare.core.objectstorage.ObjectStorage",
            "OPTIONS": {
                **common,
                "bucket_name": bucket,
                "querystring_auth": False,
                "default_acl": "public-read",
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        "private": {
            "BACKEND": "topicshare.core.objectstorage.ObjectStorage",
            "OPTIONS": {
                **common,
                "bucket_name": private_bucket,
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": 60,
            },
        },
    }


def _private_fields():
    from django.apps import apps
    from django.db.models import FileField

    return [
        field
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, FileField) and getattr(field, "_storage_callable", None)
    ]


@contextlib.contextmanager
def storages_setting(setting: dict):
    """override_settings(STORAGES=setting), and the storages the process had put back after.

    Django's setting_changed receiver for STORAGES empties the `storages` handler and resets
    default_storage; fields declared with `storage=private_storage` evaluated that callable
    when the models were defined, so they are re-evaluated here, as a process started with
    these settings would, and put back afterwards, with the handler's instances."""
    fields = _private_fields()
    before = [field.storage for field in fields]
    instances = {alias: storages[alias] for alias in ("default", "private")}
    try:
        with override_settings(STORAGES=setting):
            for field in fields:
                field.storage = field._storage_callable()
            yield
    finally:
        for field, storage in zip(fields, before, strict=True):
            field.storage = storage
        storages._storages.update(instances)


@contextlib.contextmanager
def object_storages(server: S3Server):
    """Fresh buckets on `server` as the site's storages, for the duration of the block."""
    suffix = uuid.uuid4().hex[:8]
    bucket, private_bucket = f"public-{suffix}", f"private-{suffix}"
    client = server.client()
    client.create_bucket(Bucket=bucket)
    client.create_bucket(Bucket=private_bucket)
    with storages_setting(s3_storages_setting(server.endpoint_url, bucket, private_bucket)):
        yield bucket, private_bucket
