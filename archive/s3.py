"""Content-addressed blob storage in an S3-API object store (MinIO, Ceph RGW, Alibaba OSS, AWS S3).

Keys are ``<prefix>ab/cd/<sha256>``, the layout of ``FileBlobStore``. Objects are written once and never changed;
content is verified on every read: ``open`` downloads into a spooled temporary file while hashing and returns it only
when the content hashes to the key (``BlobCorrupt`` otherwise), so a damaged object is never served or read as good.
Holds (``pin``/``discard``) are a ``BlobHolds``: PostgreSQL advisory locks when several machines share the bucket.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from .holds import BlobHolds, check_sha256
from .interfaces import BlobCorrupt, BlobHold

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_CHUNK = 1024 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # a blob up to this size is read into memory, a larger one into a temporary file


class S3BlobStore:
    """Blobs as objects of ``bucket`` under ``prefix``; ``endpoint_url`` names the service (empty: AWS).

    Credentials left empty fall back to boto3's own chain (``AWS_*`` variables, instance roles). Checksums that
    only newer AWS endpoints understand are sent only when an operation requires them, so older S3-API servers
    accept the requests; every upload carries Content-MD5, which every S3 API checks."""

    def __init__(
        self,
        *,
        bucket: str,
        holds: BlobHolds,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str | None = None,
        prefix: str = "",
        addressing_style: str = "auto",
    ):
        if not bucket:
            raise ValueError("S3_BUCKET is required when BLOB_STORE=s3")
        self.bucket = bucket
        self.holds = holds
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint_url or None,
            "aws_access_key_id": access_key_id or None,
            "aws_secret_access_key": secret_access_key or None,
            "region_name": region or None,
        }
        self._addressing_style = addressing_style or "auto"
        self._conditional_put = True
        self._client_lock = threading.Lock()
        self._client: Any = None
        self._client_pid = 0

    # --- the client (one per process: a forked worker must not share the parent's connections) ---------

    @property
    def client(self) -> Any:
        if self._client is None or self._client_pid != os.getpid():
            with self._client_lock:
                if self._client is None or self._client_pid != os.getpid():
                    import boto3
                    from botocore.config import Config

                    config = Config(
                        s3={"addressing_style": self._addressing_style},
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required",
                        retries={"mode": "standard", "max_attempts": 4},
                        connect_timeout=5,
                        read_timeout=60,
                    )
                    self._client = boto3.session.Session().client("s3", config=config, **self._options)
                    self._client_pid = os.getpid()
        return self._client

    def key(self, sha256: str) -> str:
        check_sha256(sha256)
        return f"{self.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    # --- BlobStore ---------------------------------------------------------------------------------

    def put(self, stream: IO[bytes]) -> tuple[str, bool]:
        """Spool and hash the stream, then upload it unless an object of that name exists already."""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            digest, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
            size = 0
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                md5.update(chunk)
                spool.write(chunk)
                size += len(chunk)
            sha = digest.hexdigest()
            if self.exists(sha):
                return sha, False
            options = {
                "Bucket": self.bucket,
                "Key": self.key(sha),
                "Body": spool,
                "ContentLength": size,
                "ContentMD5": base64.b64encode(md5.digest()).decode(),
                "ContentType": "application/octet-stream",
            }
            try:
                spool.seek(0)
                if self._conditional_put:  # another process stored the same content meanwhile: keep its object
                    self.client.put_object(IfNoneMatch="*", **options)
                else:
                    self.client.put_object(**options)
            except Exception as exc:
                if _status(exc) == 412:
                    return sha, False
                if _status(exc) != 501 or not self._conditional_put:
                    raise
                # a server without conditional writes: the same bytes under the same name, so writing again is safe
                self._conditional_put = False
                spool.seek(0)
                self.client.put_object(**options)
            return sha, True

    def open(self, sha256: str) -> IO[bytes]:
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115  (the caller closes it)
        try:
            if self._download(sha256, spool.write) != sha256:
                raise BlobCorrupt(sha256)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool  # type: ignore[return-value]  # a binary file object

    def exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except Exception as exc:
            if _status(exc) == 404:
                return False
            raise
        return True

    def verify(self, sha256: str) -> str:
        try:
            found = self._download(sha256, lambda _chunk: None)
        except FileNotFoundError:
            return "missing"
        return "ok" if found == sha256 else "corrupt"

    def pin(self, sha256: str, session: Session | None = None) -> BlobHold:
        return self.holds.hold(check_sha256(sha256), session)

    def discard(self, sha256: str, *, still_needed: Callable[[], bool] | None = None, timeout: float = 30.0) -> bool:
        """Remove the object once nobody holds it, unless ``still_needed()`` (asked only then) says a committed
        record uses it; True if removed."""
        with self.holds.exclusive(check_sha256(sha256), timeout) as acquired:
            if not acquired:
                return False  # left in place: an unreferenced object is harmless, a missing one is not
            if (still_needed is not None and still_needed()) or not self.exists(sha256):
                return False
            self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))
            return True

    def health(self) -> dict[str, object]:
        self.client.head_bucket(Bucket=self.bucket)
        return {"ok": True, "store": "s3", "bucket": self.bucket}

    # --- helpers -----------------------------------------------------------------------------------

    def _download(self, sha256: str, sink: Callable[[bytes], Any]) -> str:
        """Stream the object into ``sink`` a chunk at a time; return the SHA-256 of what arrived."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except Exception as exc:
            if _status(exc) == 404:
                raise FileNotFoundError(f"no blob {sha256} in bucket {self.bucket}") from None
            raise
        digest = hashlib.sha256()
        body = response["Body"]
        try:
            for chunk in body.iter_chunks(_CHUNK):
                digest.update(chunk)
                sink(chunk)
        finally:
            body.close()
        return digest.hexdigest()


def _status(exc: Exception) -> int | None:
    """The HTTP status of a botocore ``ClientError`` (None for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if status is None and response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
        return 404
    return int(status) if status is not None else None
