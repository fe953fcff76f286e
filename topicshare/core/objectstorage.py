"""Uploads in an S3-compatible object store (django-storages), when S3_BUCKET is set.

Two additions to S3Storage:

- Links use the address browsers reach the store at (`public_endpoint_url`), which may differ
  from the one the application talks to: in docker-compose.yml the app reaches `http://s3:9000`
  while browsers reach `http://127.0.0.1:9000`. A presigned URL signs its host, so it is signed
  with a client for the public address (signing needs no network).
- `open_ranged()`: a read-only, seekable view of an object that fetches only the byte ranges
  read, so that checking what a stored 50 MB deck really is (topicshare.core.uploads) costs a
  few kilobytes instead of downloading it (S3Storage.open downloads the whole object).
"""

import threading

from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from storages.backends.s3 import S3Storage
from storages.utils import clean_name


class ObjectStorage(S3Storage):
    def __init__(self, *, public_endpoint_url: str | None = None, **settings):
        super().__init__(**settings)
        self.public_endpoint_url = public_endpoint_url or self.endpoint_url
        self._link_clients = threading.local()

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_link_clients", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._link_clients = threading.local()

    def _link_client(self):
        client = getattr(self._link_clients, "client", None)
        if client is None:
            config = self.client_config
            if not self.querystring_auth:
                config = config.merge(Config(signature_version=UNSIGNED))
            client = self._create_session().client(
                "s3",
                region_name=self.region_name,
                use_ssl=self.use_ssl,
                endpoint_url=self.public_endpoint_url,
                config=config,
                verify=self.verify,
            )
            self._link_clients.client = client
        return client

    def url(self, name, parameters=None, expire=None, http_method=None):
        if self.custom_domain or self.public_endpoint_url == self.endpoint_url:
            return super().url(name, parameters=parameters, expire=expire, http_method=http_method)
        params = {
            **(parameters or {}),
            "Bucket": self.bucket_name,
            "Key": self._normalize_name(clean_name(name)),
        }
        return self._link_client().generate_presigned_url(
            "get_object",
            Params=params,
            ExpiresIn=self.querystring_expire if expire is None else expire,
            HttpMethod=http_method,
        )

    def presigned_url(self, name: str, *, content_type: str, disposition: str) -> str | None:
        """A link that reads the object for `querystring_expire` seconds, answered with this
        type and Content-Disposition; None when this storage does not sign its links (its
        objects are public)."""
        if not self.querystring_auth:
            return None
        return self.url(
            name,
            parameters={
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition,
                "ResponseCacheControl": "private, no-store",
            },
        )

    def open_ranged(self, name: str) -> "RangedObject":
        return RangedObject(self.bucket.Object(self._normalize_name(clean_name(name))))


class RangedObject:
    """A stored object as a read-only binary file: each read outside the block last fetched
    is one ranged GET of at least BLOCK bytes. Raises FileNotFoundError when it is missing."""

    BLOCK = 64 * 1024

    def __init__(self, obj):
        self._obj = obj
        try:
            self.size = obj.content_length  # a HEAD request
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(obj.key) from exc
            raise
        self._position = 0
        self._block_start, self._block = 0, b""

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self._position
        end = min(self._position + size, self.size)
        if end <= self._position:
            return b""
        block_end = self._block_start + len(self._block)
        if not (self._block_start <= self._position and end <= block_end):
            start = self._position
            stop = min(max(end, start + self.BLOCK), self.size)
            body = self._obj.get(Range=f"bytes={start}-{stop - 1}")["Body"]
            self._block_start, self._block = start, body.read()
        data = self._block[self._position - self._block_start : end - self._block_start]
        self._position += len(data)
        return data

    def close(self) -> None:
        self._block = b""
