"""Storage servers on loopback for the storage contract and sync tests (S3, GCS, FTP, SFTP),
and local HTTP fakes of the OAuth clouds. Loaded as a pytest plugin from conftest.py."""
