"""`manage.py create_buckets`: create the object store's buckets (S3_BUCKET,
S3_PRIVATE_BUCKET) where they are missing; nothing to do when uploads are on local disk.
Safe to run on every start, from every node."""

import json

from botocore.exceptions import ClientError
from django.core.files.storage import storages
from django.core.management.base import BaseCommand

from topicshare.core.objectstorage import ObjectStorage


def _public_read(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
    )


class Command(BaseCommand):
    help = "Create the object store's buckets when they are missing."

    def handle(self, *args, **options):
        buckets = {}
        for alias in ("default", "private"):
            storage = storages[alias]
            if isinstance(storage, ObjectStorage):
                buckets.setdefault(storage.bucket_name, storage)
        if not buckets:
            self.stdout.write("Uploads are on local disk: no buckets to create.")
            return
        for name, storage in buckets.items():
            client = storage.connection.meta.client
            try:
                client.head_bucket(Bucket=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                    raise
                extra = {}
                if storage.region_name and storage.region_name != "us-east-1":
                    extra["CreateBucketConfiguration"] = {"LocationConstraint": storage.region_name}
                client.create_bucket(Bucket=name, **extra)
                self.stdout.write(f"Created bucket {name}.")
                private_bucket = getattr(storages["private"], "bucket_name", None)
                if not storage.querystring_auth and name != private_bucket:
                    # Stores that ignore object ACLs (MinIO) publish a bucket by a policy.
                    client.put_bucket_policy(Bucket=name, Policy=_public_read(name))
                    self.stdout.write(f"Bucket {name}: anyone may read its objects.")
            else:
                self.stdout.write(f"Bucket {name} exists.")
