"""The face package's public surface while importers move to its modules (the lead removes
this file at integration): state (is it on?), detect (detection and grouping), scan (the
background scan), people (the People pages, crops), selfie (the search by a picture). The
search inside a shared link is webapp/workflows/link_face_search.py (it calls share)."""

from webapp.face import model  # noqa: F401
from webapp.face.detect import (  # noqa: F401
    DETECT_PROXIES,
    detect_asset,
    group_pending,
    queue_detection,
)
from webapp.face.people import (  # noqa: F401
    CROP_SIZE,
    MAX_PEOPLE,
    NAME_MAX,
    FaceView,
    PersonView,
    crop_face,
    crop_square,
    delete_face_data,
    faces_of_person,
    get_person,
    list_people,
    merge_people,
    move_face,
    people_of_asset,
    person_name,
    rename_person,
)
from webapp.face.scan import scan_existing, scan_tick, start_scan, unscanned_ids  # noqa: F401
from webapp.face.selfie import SelfieResult, link_offers_search, match_picture  # noqa: F401
from webapp.face.state import (  # noqa: F401
    FaceState,
    face_state,
    is_enabled,
    model_status,
    require_enabled,
)
