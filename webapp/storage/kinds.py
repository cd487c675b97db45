"""The kinds of storage an admin can add, and the fields each one's form asks for: what is
a secret (sealed at rest, never shown back), what is required, how the root is named."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webapp.errors import Invalid


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    secret: bool = False
    kind: str = "text"  # text, number, checkbox, textarea, password
    required: bool = False
    help: str = ""


@dataclass(frozen=True)
class KindSpec:
    kind: str
    label: str
    root_label: str
    root_help: str
    fields: tuple[FieldSpec, ...] = ()


KINDS: dict[str, KindSpec] = {
    k.kind: k
    for k in (
        KindSpec(
            "local",
            "Local folder",
            "Folder path",
            "An absolute path on this machine, under one of the folders the operator lists "
            "in LOCAL_STORAGE_ROOTS.",
        ),
        KindSpec(
            "s3",
            "Amazon S3 or S3-compatible",
            "Bucket and optional prefix",
            "For example photos or photos/team-a.",
            (
                FieldSpec("endpoint_url", "Endpoint URL", help="Leave empty for AWS."),
                FieldSpec("region", "Region"),
                FieldSpec("access_key_id", "Access key", secret=True, kind="password"),
                FieldSpec("secret_access_key", "Secret key", secret=True, kind="password"),
            ),
        ),
        KindSpec(
            "gcs",
            "Google Cloud Storage",
            "Bucket and optional prefix",
            "For example media/raw.",
            (
                FieldSpec("endpoint_url", "Endpoint URL", help="Only for emulators."),
                FieldSpec(
                    "service_account_json", "Service-account JSON", secret=True, kind="textarea"
                ),
            ),
        ),
        KindSpec(
            "ftp",
            "FTP / FTPS",
            "Folder",
            "The folder on the server, / for its root.",
            (
                FieldSpec("host", "Host", required=True),
                FieldSpec("port", "Port", kind="number"),
                FieldSpec("user", "User"),
                FieldSpec("password", "Password", secret=True, kind="password"),
                FieldSpec("tls", "Use FTPS (TLS)", kind="checkbox"),
            ),
        ),
        KindSpec(
            "sftp",
            "SFTP",
            "Folder",
            "The folder on the server.",
            (
                FieldSpec("host", "Host", required=True),
                FieldSpec("port", "Port", kind="number"),
                FieldSpec("username", "User", required=True),
                FieldSpec("password", "Password", secret=True, kind="password"),
                FieldSpec("private_key", "Private key (PEM)", secret=True, kind="textarea"),
                FieldSpec("passphrase", "Key passphrase", secret=True, kind="password"),
                FieldSpec("host_key", "Host key (optional, pins the server)"),
            ),
        ),
        KindSpec(
            "gdrive",
            "Google Drive",
            "Folder",
            "A folder path inside the drive.",
            (
                FieldSpec("folder_id", "Folder ID (optional)"),
                FieldSpec(
                    "service_account_json", "Service-account JSON", secret=True, kind="textarea"
                ),
            ),
        ),
        KindSpec(
            "dropbox",
            "Dropbox",
            "Folder",
            "A folder path inside the Dropbox.",
            (
                FieldSpec("app_key", "App key"),
                FieldSpec("access_token", "Access token", secret=True, kind="password"),
                FieldSpec("refresh_token", "Refresh token", secret=True, kind="password"),
                FieldSpec("app_secret", "App secret", secret=True, kind="password"),
            ),
        ),
        KindSpec(
            "onedrive",
            "Microsoft OneDrive",
            "Folder",
            "A folder path inside the drive.",
            (
                FieldSpec("drive_id", "Drive ID", required=True),
                FieldSpec("tenant_id", "Tenant ID", required=True),
                FieldSpec("client_id", "Client ID", required=True),
                FieldSpec("client_secret", "Client secret", secret=True, kind="password"),
            ),
        ),
    )
}


def clean_form(kind: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Splits submitted values into plain options and secrets; empty secrets mean "keep"."""
    spec = KINDS[kind]
    options: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    for f in spec.fields:
        raw = values.get(f.name)
        if f.kind == "checkbox":
            options[f.name] = str(raw or "").lower() in {"1", "true", "on", "yes"}
            continue
        value = str(raw).strip() if raw is not None else ""
        if f.kind == "number" and value:
            if not value.isdigit() or not 0 < int(value) < 65536:
                raise Invalid(f"{f.label}: enter a port number.", field=f.name)
            options[f.name] = int(value)
            continue
        if f.secret:
            if value:
                secrets[f.name] = value
        elif value:
            options[f.name] = value
    return options, secrets
