"""The fs package's public surface while importers move (issue 10): `webapp.fs.store` was one
module; its parts now live in key.py (key validation), base.py (the Store interface, Entry),
fsspec_store.py (FsspecStore), backends/local.py (LocalStore) and central.py (open_central).
Import from those; this module only re-exports them and goes away at integration.
"""

from webapp.fs.backends.local import LocalStore  # noqa: F401
from webapp.fs.base import CHUNK, MARKER, Entry, Store, entry_from_info  # noqa: F401
from webapp.fs.central import open_central  # noqa: F401
from webapp.fs.fsspec_store import FsspecStore  # noqa: F401
from webapp.fs.key import MAX_KEY_BYTES, MAX_SEGMENT_BYTES, clean_key, clean_prefix  # noqa: F401
