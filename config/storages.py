"""The default storage's settings: local disk, or an S3-compatible bucket through django-storages (boto3)."""

from pathlib import Path


def local_storage(location: Path) -> dict:
    return {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": location}}


def s3_storage(*, endpoint_url: str, bucket: str, access_key: str, secret_key: str) -> dict:
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "endpoint_url": endpoint_url,
            "bucket_name": bucket,
            "access_key": access_key,
            "secret_key": secret_key,
            # Names are chosen by us (a job id or a fresh uuid in each): a second save of a name replaces it.
            "file_overwrite": True,
            # MinIO and most S3-compatible stores answer on one host name: bucket in the path, not the host.
            "addressing_style": "path",
            "signature_version": "s3v4",
            "region_name": "us-east-1",
        },
    }
