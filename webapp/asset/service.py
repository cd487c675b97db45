"""The asset package's public surface while importers move to its modules: views (AssetView,
asset_view), query (the one read path), tags, register (the writer of new assets), upload,
ingest, edits, trash, downloads, renditions, attachments and proxy types. The purge of the
recycle bin is webapp/workflows/purge.py (it also removes collection memberships)."""

from webapp.asset.attachments import (  # noqa: F401
    AttachmentView,
    add_attachment,
    attachment_download,
    delete_attachment,
    list_attachments,
)
from webapp.asset.downloads import (  # noqa: F401
    WATERMARK_FREE_PROXIES,
    Download,
    original_download,
    proxy_download,
)
from webapp.asset.edits import add_tags, update_asset  # noqa: F401
from webapp.asset.files import spool  # noqa: F401
from webapp.asset.ingest import ingest_asset, reingest  # noqa: F401
from webapp.asset.proxy_types import (  # noqa: F401
    BUILTIN_PROXIES,
    VIDEO_PROXIES,
    ProxyTypeView,
    delete_proxy_type,
    ensure_builtin_proxy_types,
    list_proxy_types,
    proxy_specs,
    regenerate_all,
    save_proxy_type,
)
from webapp.asset.query import (  # noqa: F401
    FEED_PAGE,
    KINDS,
    KNOWN_TAGS_TTL,
    MAX_PAGE,
    STATUSES,
    AssetFilter,
    Page,
    count_visible,
    decode_cursor,
    encode_cursor,
    get_asset,
    known_tags,
    list_asset_streams,
    list_assets,
    list_uploaders,
)
from webapp.asset.register import NewAsset, register_asset  # noqa: F401
from webapp.asset.tags import normalize_tag, parse_tags, search_text  # noqa: F401
from webapp.asset.trash import restore_assets, trash_assets  # noqa: F401
from webapp.asset.upload import (  # noqa: F401
    UploadLimits,
    UploadResult,
    queue_ingest,
    safe_filename,
    upload_asset,
    upload_limits,
)
from webapp.asset.views import (  # noqa: F401
    AssetView,
    ProxyInfo,
    _json_value,
    _view,
    asset_view,
    json_value,
    parse_ref,
    with_source_names,
)
