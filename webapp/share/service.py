"""Share links (DESIGN.md section 4): the share package's public surface while importers
move to its modules. Nothing is defined here; each name lives in the module named beside it:

- tokens: tokens, sealing, the password cookie, the throttle's delays, default names (pure)
- views: `LinkView`, and `Access` / `LinkGrant` of a request through a link
- eligibility: which assets a link may include (`check_assets`)
- options: a link's options and the rules of an owner's rights over them
- manage: owners create, list, edit and delete links; the sharing window
- authorize: THE check for recipients (`authorize`)
- counters: view and download counters, password tries and their throttle
- recipient: what recipients see (pages, files, QR, ZIP)
- reads: share's own SQL reads of asset tables, until the asset query takes a link grant
"""

from webapp.share.authorize import DISPLAY_PROXIES, PasswordRequired, authorize  # noqa: F401
from webapp.share.counters import (  # noqa: F401
    COUNT_FLUSH_SECONDS,
    FAIL_LIMIT,
    FAIL_WINDOW,
    enter_password,
    flush_counts,
)
from webapp.share.eligibility import ShareCheck, Skipped, check_assets  # noqa: F401
from webapp.share.manage import (  # noqa: F401
    Created,
    ShareForm,
    create_link,
    delete_link,
    get_link,
    link_qr,
    list_links,
    share_form,
    update_link,
)
from webapp.share.options import (  # noqa: F401
    IMAGE_GROUP,
    MIN_PASSWORD,
    VIDEO_GROUP,
    LinkOptions,
    parse_expiry,
    proxy_groups,
    proxy_type_names,
)
from webapp.share.reads import PAGE_SIZE  # noqa: F401
from webapp.share.recipient import (  # noqa: F401
    SharedAsset,
    SharedPage,
    Version,
    ZipDownload,
    attachment_file,
    landing,
    original_file,
    proxy_file,
    shared_asset,
    visit,
    visitor_qr,
    zip_all,
)
from webapp.share.tokens import (  # noqa: F401
    PASSWORD_COOKIE,
    PASSWORD_COOKIE_DAYS,
    PUBLIC_METADATA,
    TOKEN_BYTES,
    default_collection_name,
    default_link_name,
    failure_delay,
    new_token,
    password_cookie,
    password_cookie_ok,
    public_metadata,
    seal_token,
    token_hash,
    unseal_token,
)
from webapp.share.views import KIND_LABELS, KINDS, Access, LinkGrant, LinkView  # noqa: F401
