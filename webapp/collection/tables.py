"""Collections: personal groups of assets (also made by bulk sharing)."""

from piccolo.columns import ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from webapp.account.tables import User
from webapp.asset.tables import Asset


class Collection(Table, tablename="collection"):
    id = Serial(primary_key=True)
    owner = ForeignKey(references=User, index=True)
    name = Varchar(length=200)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class CollectionAsset(Table, tablename="collection_asset"):
    id = Serial(primary_key=True)
    collection = ForeignKey(references=Collection, index=True)
    asset = ForeignKey(references=Asset, index=True)
    added_at = Timestamptz(default=TimestamptzNow())
