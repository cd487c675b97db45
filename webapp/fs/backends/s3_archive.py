"""The archive tier of the "s3" kind (fs/archive.py): S3's cold storage classes.

- The state of an object is a HEAD: `StorageClass` (absent means STANDARD) and
  `x-amz-restore` (the restore under way, or done until an expiry date).
- A restore is RestoreObject with a tier and a number of days. A second request while one is
  under way answers RestoreAlreadyInProgress (409), which is not an error here; a request on an
  object that is restored already extends its days (S3 answers 200).
- Sending to the archive is a copy of the object onto itself with the cold StorageClass (S3
  has no other way to change an object's class), then a HEAD that must report the same size,
  the same ETag and the cold class. Before the copy, the object must still be the file
  Pictorium indexed (its ETag as the sync recorded it; the SHA-256 when the server states
  one). The copy is atomic on the server: when a check fails, the object is still there
  with its content, in whatever class the server kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from webapp.fs.archive import ArchiveFailed, ArchiveState, is_cold, parse_restore
from webapp.fs.errors import error_code
from webapp.fs.key import clean_key

if TYPE_CHECKING:
    from webapp.fs.backends.s3 import S3Store

#: RestoreObject's answers that mean "already asked": not an error (idempotent requests).
_ALREADY = {"RestoreAlreadyInProgress"}


class S3ArchiveTier:
    def __init__(self, store: S3Store, cold: frozenset[str]):
        self.store = store
        self.cold = cold

    def _call(self, key: str, method: str, **params: Any) -> Any:
        store = self.store
        fs = store.fs
        with store._errors(key):
            return store._run(
                fs._call_s3,
                method,
                Bucket=store.bucket_name,
                Key=store._object_prefix("") + clean_key(key),
                **params,
            )

    def _state(self, head: dict[str, Any]) -> ArchiveState:
        storage_class = str(head.get("StorageClass") or "STANDARD")
        restore, expires = parse_restore(head.get("Restore"))
        return ArchiveState(
            storage_class=storage_class,
            cold=is_cold(storage_class, self.cold),
            restore=restore,
            expires_at=expires,
            size=int(head.get("ContentLength") or 0),
            etag=str(head.get("ETag") or "").strip('"') or None,
        )

    def state_of(self, key: str) -> ArchiveState:
        return self._state(self._call(key, "head_object", ChecksumMode="ENABLED"))

    def request_restore(self, key: str, tier: str, days: int) -> bool:
        try:
            answer = self._call(
                key,
                "restore_object",
                RestoreRequest={"Days": int(days), "GlacierJobParameters": {"Tier": tier}},
            )
        except Exception as exc:
            cause = exc.__cause__ or exc
            if error_code(exc) in _ALREADY or error_code(cause) in _ALREADY:
                return False
            raise
        status = (answer.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return status != 200  # 202: asked now; 200: a restored copy exists (days extended)

    def send_to_archive(
        self,
        key: str,
        storage_class: str,
        expected_etag: str | None = None,
        expected_sha256: str | None = None,
    ) -> ArchiveState:
        before = self.state_of(key)
        if before.cold:
            return before
        where = f"{self.store.label} {key!r}"
        # First, that the object is the file Pictorium indexed: nothing is touched otherwise.
        if expected_etag and before.etag and before.etag != expected_etag.strip('"'):
            raise ArchiveFailed(
                f"{where}: the file changed since it was indexed (its ETag differs); sync "
                "the storage first"
            )
        stated = self.store.stated_sha256(key) if expected_sha256 else None
        if stated is not None and stated != expected_sha256:
            raise ArchiveFailed(f"{where}: the file's SHA-256 differs from the indexed one")
        source = {"Bucket": self.store.bucket_name, "Key": self.store._object_prefix("") + key}
        self._call(
            key,
            "copy_object",
            CopySource=source,
            StorageClass=storage_class,
            MetadataDirective="COPY",
        )
        after = self.state_of(key)
        problems = []
        if after.size != before.size:
            problems.append(f"the size is {after.size}, it was {before.size}")
        if before.etag and "-" not in before.etag and after.etag != before.etag:
            problems.append("the ETag (MD5) differs from the original's")
        if not after.cold:
            problems.append(f"the server reports the class {after.storage_class}")
        if problems:
            raise ArchiveFailed(
                f"{where}: the archived copy was not verified: " + "; ".join(problems)
            )
        return after
