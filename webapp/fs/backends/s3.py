"""The "s3" kind: Amazon S3 and S3-compatible servers, through s3fs (botocore).

Traps of this kind:
- S3 lists times to the millisecond but HEAD answers to the second: both are cut to whole
  seconds, so that a listed fingerprint and a stat of the same file agree.
- Newer botocore checks CRC checksums on every response; S3-compatible servers send
  whole-object checksums on range reads, which then never match: checksums only when required.
- Presigned URLs use SigV4: S3-compatible servers (and newer AWS regions) refuse V2.
- With an endpoint (an S3-compatible server) addressing is path-style unless told otherwise.
- A SHA-256 is stated only when asked for (HEAD with ChecksumMode) and only if the object
  was uploaded with one; a multipart upload's is a checksum of part checksums unless the
  server says FULL_OBJECT. The ETag is an MD5 (or, multipart, not even that): never a SHA-256.
- The listing pages through list_objects_v2 itself, one page in memory at a time; uploads go
  in parts of S3_PART_SIZE.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Iterator, Mapping
from typing import IO, Any, cast

from webapp.fs.archive import COLD_CLASSES, ArchiveTier, cold_classes
from webapp.fs.backends._common import (
    ALLOW_PRIVATE,
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    _BucketStore,
    _split_bucket,
    _timeout,
    bounded,
    check_endpoint,
)
from webapp.fs.base import CHUNK, MARKER, Entry, Store, entry_from_info

S3_PART_SIZE = 8 * 1024 * 1024


def _whole_seconds(entry: Entry) -> Entry:
    """S3 lists times to the millisecond but HEAD answers to the second: keep seconds, so
    that a listed fingerprint and a stat of the same file agree."""
    if entry.mtime is None:
        return entry
    return dataclasses.replace(entry, mtime=float(int(entry.mtime)))


class S3Store(_BucketStore):
    kind = "s3"
    #: The storage classes that need a restore (fs/archive.py), from the storage's options.
    cold: frozenset[str] = COLD_CLASSES

    def archive(self) -> ArchiveTier:
        from webapp.fs.backends.s3_archive import S3ArchiveTier

        return S3ArchiveTier(self, self.cold)

    def _pages(self, prefix: str, page_size: int) -> Iterator[list[Entry]]:
        fs = self.fs
        params: dict[str, Any] = {
            "Bucket": self.bucket_name,
            "Prefix": self._object_prefix(prefix),
            "MaxKeys": page_size,
        }
        while True:
            page = self._run(fs._call_s3, "list_objects_v2", **params)
            entries = []
            for item in page.get("Contents", []):
                key = self._key_of(item["Key"])
                if key is not None:
                    entries.append(_whole_seconds(entry_from_info(key, item)))
            yield entries
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            params["ContinuationToken"] = token

    def _top(self) -> tuple[list[Entry], list[str]] | None:
        fs = self.fs
        base = self._object_prefix("")
        params: dict[str, Any] = {"Bucket": self.bucket_name, "Prefix": base, "Delimiter": "/"}
        files: list[Entry] = []
        folders: list[str] = []
        while True:
            page = self._run(fs._call_s3, "list_objects_v2", **params)
            for item in page.get("Contents", []):
                key = self._key_of(item["Key"])
                if key is not None:
                    files.append(_whole_seconds(entry_from_info(key, item)))
            for common in page.get("CommonPrefixes", []):
                name = str(common.get("Prefix", ""))[len(base) :].rstrip("/")
                if name and "/" not in name:
                    folders.append(name)
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return files, folders
            params["ContinuationToken"] = token

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        fs = self.fs
        page = self._run(
            fs._call_s3,
            "list_objects_v2",
            Bucket=self.bucket_name,
            Prefix=self._object_prefix(""),
            Delimiter="/",
            MaxKeys=limit,
        )
        files = sum(
            1
            for item in page.get("Contents", [])
            if self._key_of(item["Key"]) not in {None, MARKER}
        )
        folders = len(page.get("CommonPrefixes", []))
        return files, folders, bool(page.get("IsTruncated"))

    def _stat(self, key: str) -> Entry:
        return _whole_seconds(super()._stat(key))

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        """One PUT for a file under a part, else a multipart upload of S3_PART_SIZE parts,
        each request by its own deadline (s3fs's file object sends its parts unbounded: a
        server that stops reading the body held the worker for ever). A failed upload is
        aborted, so no parts are left behind to pay for."""
        fs = self.fs
        where: dict[str, Any] = {"Bucket": self.bucket_name, "Key": self._object_prefix("") + key}
        part = _read_part(data)
        if len(part) < S3_PART_SIZE:
            self._run(fs._call_s3, "put_object", size=len(part), Body=part, **where)
            return
        started = self._run(fs._call_s3, "create_multipart_upload", once=True, **where)
        upload = started["UploadId"]
        try:
            parts: list[dict[str, Any]] = []
            while part:
                number = len(parts) + 1
                answer = self._run(
                    fs._call_s3,
                    "upload_part",
                    size=len(part),
                    Body=part,
                    PartNumber=number,
                    UploadId=upload,
                    **where,
                )
                parts.append({"ETag": answer["ETag"], "PartNumber": number})
                part = _read_part(data)
            self._run(
                fs._call_s3,
                "complete_multipart_upload",
                UploadId=upload,
                MultipartUpload={"Parts": parts},
                **where,
            )
        except BaseException:
            try:
                self._run(fs._call_s3, "abort_multipart_upload", UploadId=upload, **where)
            except Exception:  # the upload's own failure is the one to report
                pass
            raise

    def _url(self, key: str, expires: int) -> str | None:
        return cast(str, self.fs.sign(self._path(key), expiration=expires))

    def _stated_sha256(self, key: str) -> str | None:
        fs = self.fs
        head = self._run(
            fs._call_s3,
            "head_object",
            Bucket=self.bucket_name,
            Key=self._object_prefix("") + key,
            ChecksumMode="ENABLED",
        )
        return _whole_object_sha256(head)


def _read_part(data: IO[bytes]) -> bytes:
    """The next S3_PART_SIZE bytes of a stream (fewer only at its end: every part but the
    last must be at least 5 MiB, and a stream may answer a read with less than asked)."""
    part = bytearray()
    while len(part) < S3_PART_SIZE:
        piece = data.read(min(CHUNK, S3_PART_SIZE - len(part)))
        if not piece:
            break
        part += piece
    return bytes(part)


def _whole_object_sha256(head: Mapping[str, Any]) -> str | None:
    """The hex SHA-256 of the whole object from a HEAD answer, if the server states one."""
    value = head.get("ChecksumSHA256")
    if not isinstance(value, str) or not value:
        return None
    kind = head.get("ChecksumType")
    if "-" in value or (kind is not None and kind != "FULL_OBJECT"):
        return None  # a checksum of the parts' checksums: not the content's hash
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest.hex() if len(digest) == 32 else None


def _guarded_resolver() -> Any:
    """An aiohttp resolver that checks every address it hands to the connector: the guard
    holds for the address botocore actually dials, at every (re)connection, so a DNS answer
    that changes after the check (DNS rebinding) is refused too."""
    from aiohttp.resolver import ThreadedResolver

    from webapp.core.addresses import check_addresses

    class GuardedResolver(ThreadedResolver):  # type: ignore[misc]
        async def resolve(self, host: str, port: int = 0, family: Any = 0) -> list[Any]:
            answers = await super().resolve(host, port, family)
            check_addresses(host, [str(a["host"]) for a in answers], "storages")
            return cast(list[Any], answers)

    return GuardedResolver()


def _s3(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    import s3fs

    bucket, prefix = _split_bucket(root)
    key = secrets.get("key") or secrets.get("access_key_id") or None
    secret = secrets.get("secret") or secrets.get("secret_access_key") or None
    token = secrets.get("token") or secrets.get("session_token") or None
    endpoint = options.get("endpoint_url") or options.get("endpoint") or None
    client_kwargs: dict[str, Any] = {}
    if options.get("region"):
        client_kwargs["region_name"] = options["region"]
    config_kwargs: dict[str, Any] = {
        "connect_timeout": _timeout(options, "connect_timeout", CONNECT_TIMEOUT),
        "read_timeout": _timeout(options, "read_timeout", READ_TIMEOUT),
        "retries": {"max_attempts": int(options.get("max_attempts") or 3), "mode": "standard"},
        # Newer botocore checks CRC checksums on every response; S3-compatible servers send
        # whole-object checksums on range reads, which then never match.
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
        # Presigned URLs with SigV4: S3-compatible servers (and newer AWS regions) refuse V2.
        "signature_version": "s3v4",
    }
    if endpoint or options.get("addressing_style"):
        config_kwargs["s3"] = {"addressing_style": options.get("addressing_style") or "path"}
    guarded = not options.get(ALLOW_PRIVATE)

    def connect() -> Any:
        check_endpoint(endpoint, options)  # a clear refusal before anything is sent
        if guarded:
            # made per connection: a resolver belongs to the event loop it is used on
            config_kwargs["connector_args"] = {"resolver": _guarded_resolver()}
        return s3fs.S3FileSystem(
            anon=bool(options.get("anon")) and not key,
            key=key,
            secret=secret,
            token=token,
            endpoint_url=endpoint,
            client_kwargs=client_kwargs,
            config_kwargs=config_kwargs,
            use_listings_cache=False,
            skip_instance_cache=True,
        )

    where = f"{endpoint} " if endpoint else ""
    label = f"S3 {where}bucket {bucket!r}" + (f" prefix {prefix!r}" if prefix else "")
    store = S3Store(connect, bucket, prefix, label, secrets=[str(secret or ""), str(token or "")])
    store.cold = cold_classes(options)
    return bounded(store, options)
