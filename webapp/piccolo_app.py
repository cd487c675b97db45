"""The one Piccolo app: every table of every domain, so foreign keys never cycle between apps."""

import os

from piccolo.conf.apps import AppConfig

from webapp.account.tables import ApiToken, AuthProvider, DirectoryLink, LoginSession, User
from webapp.asset.tables import (
    ArchiveRestore,
    Asset,
    AssetFieldValue,
    AssetTag,
    Attachment,
    MetadataField,
    Proxy,
    ProxyType,
)
from webapp.collection.tables import Collection, CollectionAsset
from webapp.face.tables import Face, FaceScan, Person
from webapp.share.tables import OriginalRequest, ShareLink
from webapp.source.tables import Flow, FlowSource, PullRun, Source
from webapp.storage.tables import Storage, SyncRun, Tombstone
from webapp.system.tables import SystemSetting

APP_CONFIG = AppConfig(
    app_name="webapp",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[
        User,
        LoginSession,
        ApiToken,
        AuthProvider,
        DirectoryLink,
        SystemSetting,
        Storage,
        Asset,
        AssetTag,
        ProxyType,
        Proxy,
        Attachment,
        MetadataField,
        AssetFieldValue,
        Collection,
        CollectionAsset,
        SyncRun,
        Tombstone,
        Source,
        Flow,
        FlowSource,
        PullRun,
        ShareLink,
        ArchiveRestore,
        OriginalRequest,
        Person,
        Face,
        FaceScan,
    ],
    migration_dependencies=[],
    commands=[],
)
