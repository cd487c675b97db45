"""Storage errors, the only ones that leave fs/: every backend's exceptions map to these."""


class StoreError(Exception):
    """Base class."""


class StoreNotFound(StoreError):
    """The key does not exist."""


class StoreDenied(StoreError):
    """Credentials refused or the key is not ours to touch."""


class StoreUnavailable(StoreError):
    """The storage cannot be reached right now (network, timeout, outage)."""


class InvalidKey(StoreError, ValueError):
    """A key with '..', an absolute path, NUL or other unsafe parts."""
