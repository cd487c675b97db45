"""Face tables: each face found in an asset, the people faces are grouped into, and which
assets have been scanned."""

from piccolo.columns import (
    JSON,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from webapp.asset.tables import Asset


class Person(Table, tablename="person"):
    id = Serial(primary_key=True)
    name = Varchar(length=100, default="")
    # The face shown for this person. A plain id, not a foreign key: Face already points
    # here, and a key each way would make the two tables depend on each other.
    cover_face = Integer(null=True, default=None)
    # Running mean of the member descriptors (128 float32) and how many went into it: new
    # faces are compared with these instead of with every face.
    centroid = Bytea(default=b"")
    face_count = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Face(Table, tablename="face"):
    id = Serial(primary_key=True)
    # Purging an asset deletes its faces (the key cascades).
    asset = ForeignKey(references=Asset, index=True, on_delete=OnDelete.cascade)
    # Box as fractions of the image (x, y, w, h), so it fits every proxy size.
    box = JSON(default="[]")
    descriptor = Bytea(default=b"")  # 128 float32, little-endian
    person = ForeignKey(
        references=Person, null=True, default=None, index=True, on_delete=OnDelete.set_null
    )
    # Placed by a person (moved or merged): automatic grouping never moves it again.
    is_manual = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class FaceScan(Table, tablename="face_scan"):
    """One row per scanned asset: the background scan looks for assets without one."""

    id = Serial(primary_key=True)
    asset = ForeignKey(references=Asset, unique=True, index=True, on_delete=OnDelete.cascade)
    sha256 = Varchar(length=64, default="")
    faces = Integer(default=0)
    error = Text(default="")
    scanned_at = Timestamptz(default=TimestamptzNow())
