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
    kind: str = "text"  # text, number, checkbox, textarea, password, url
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
                FieldSpec("folder_id", "Folder ID (optional, service account)"),
                FieldSpec("drive_id", "Shared drive ID", help="Empty: the account's My Drive."),
                FieldSpec(
                    "service_account_json", "Service-account JSON", secret=True, kind="textarea"
                ),
                FieldSpec("client_id", "Client ID (own app, advanced)"),
                FieldSpec("client_secret", "Client secret (own app)", secret=True, kind="password"),
                FieldSpec("refresh_token", "Refresh token", secret=True, kind="password"),
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
                # Advanced (app-only credentials): all four; a connected account needs none
                # (its drive is picked in the connect flow; the drive ID may name a
                # SharePoint document library).
                FieldSpec("drive_id", "Drive ID", help="Empty: the connected user's OneDrive."),
                FieldSpec("tenant_id", "Tenant ID (app-only)"),
                FieldSpec("client_id", "Client ID (app-only)"),
                FieldSpec(
                    "client_secret", "Client secret (app-only)", secret=True, kind="password"
                ),
                FieldSpec("refresh_token", "Refresh token", secret=True, kind="password"),
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
        if f.kind == "url" and value:
            value = check_url(f.label, f.name, value)
        if f.secret:
            if value:
                secrets[f.name] = value
        elif value:
            options[f.name] = value
    return options, secrets


# ---- issue 17: WebDAV and Azure Blob Storage ----------------------------------------------

_WEBDAV_URL_HELP = (
    "The account's WebDAV address. Nextcloud: https://HOST/remote.php/dav/files/USER/ "
    "(ownCloud the same, or https://HOST/remote.php/webdav/); Yandex Disk: "
    "https://webdav.yandex.com/; Box: https://dav.box.com/dav/; SharePoint: "
    "https://TENANT.sharepoint.com/sites/SITE/Shared%20Documents/ (a site's document "
    "library); any other server: the URL its WebDAV clients use."
)

KINDS.update(
    {
        k.kind: k
        for k in (
            KindSpec(
                "webdav",
                "WebDAV (Nextcloud, ownCloud, Yandex Disk, Box, SharePoint)",
                "Folder (optional)",
                "A folder below the WebDAV address, for example Photos/Team; empty for the "
                "whole account.",
                (
                    FieldSpec(
                        "url", "WebDAV URL", kind="url", required=True, help=_WEBDAV_URL_HELP
                    ),
                    FieldSpec("user", "User", required=True),
                    FieldSpec(
                        "password",
                        "Password",
                        secret=True,
                        kind="password",
                        help="With two-factor sign-in (Nextcloud, Yandex, Box), an app "
                        "password made for Pictorium.",
                    ),
                ),
            ),
            KindSpec(
                "azure_blob",
                "Azure Blob Storage",
                "Container and optional prefix",
                "For example photos or photos/team-a.",
                (
                    FieldSpec("account_name", "Storage account name"),
                    FieldSpec(
                        "account_key",
                        "Account key",
                        secret=True,
                        kind="password",
                        help="One of: the account key, a SAS token, or a connection string.",
                    ),
                    FieldSpec(
                        "sas_token",
                        "SAS token",
                        secret=True,
                        kind="password",
                        help="Needs read, write, delete and list rights on the container.",
                    ),
                    FieldSpec(
                        "connection_string", "Connection string", secret=True, kind="password"
                    ),
                    FieldSpec(
                        "endpoint_url",
                        "Blob endpoint (optional)",
                        kind="url",
                        help="Only for Azure Stack, a sovereign cloud or Azurite, for example "
                        "http://127.0.0.1:10000/devstoreaccount1; empty for Azure.",
                    ),
                ),
            ),
        )
    }
)


def check_url(label: str, name: str, value: str) -> str:
    """A URL field's value: http(s), a host, no user name or password inside."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise Invalid(f"{label}: enter an address starting with https://.", field=name)
    if parts.username or parts.password:
        raise Invalid(f"{label}: put the user name and password in their own fields.", field=name)
    return value
