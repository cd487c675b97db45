"""Work that spans domains: storage sync, source pull, purge, removing a storage or a source,
ingest then faces, face search inside a link. Each module is one workflow; it may call any
domain package below it, and nothing below imports it."""
