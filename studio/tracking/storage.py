"""Where a run's file bytes live. Storage keys are built from server ids only
(``runs/<run uuid>/<file uuid>``); the name a user sees (``outputs/model.pkl``) is
metadata in ``RunFile``, checked by ``rules.filenames.check_file_name``."""

from __future__ import annotations

import uuid

from django.core.files.storage import storages

from studio.rules.filenames import check_file_name

__all__ = ["check_file_name", "files_storage", "new_storage_key"]


def files_storage():
    return storages["studio_files"]


def new_storage_key(run_uuid: uuid.UUID) -> str:
    return f"runs/{run_uuid.hex}/{uuid.uuid4().hex}"
