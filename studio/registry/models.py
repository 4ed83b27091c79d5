"""Registered models: a name in a workspace (``RegisteredModel``), its numbered
versions (``ModelVersion``) and each version's files (``ModelFile``).

A version's files are copies of the bytes in the files storage (the run files'
storage), named relative to the registered path's parent as v1 names them:
``outputs/model.pkl`` gives ``model.pkl``, the folder ``outputs/net`` gives
``net/...``. Files uploaded before their version exists (the REST store uploads a
local model file by file, then registers it) wait with no version, under the id of
their upload."""

from __future__ import annotations

import uuid

from django.db import models

from studio.tracking.models import Run, Workspace


class RegisteredModel(models.Model):
    """A model name of a workspace; ``version_counter`` hands out version numbers."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="registered_models"
    )
    name = models.CharField(max_length=255)
    version_counter = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="registry_model_name_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.workspace.name}/{self.name}"


class ModelVersion(models.Model):
    """One registered version: what it was made from and what it holds."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    # The run whose outputs it was copied from (v1's run_id and experiment_name).
    run = models.ForeignKey(
        Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="model_versions"
    )
    # The path it was registered from: a run file or folder, or a local path's name.
    source_path = models.CharField(max_length=1024, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="registry_version_uniq")
        ]
        indexes = [models.Index(fields=["created_at"], name="registry_version_created")]

    def __str__(self) -> str:
        return f"{self.model.name}:{self.version}"


class ModelFile(models.Model):
    """A file of a model version, or of an upload that has not become one yet."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, null=True, blank=True, related_name="files"
    )
    upload = models.UUIDField(null=True, blank=True, default=None)
    uploaded_by = models.CharField(max_length=150, blank=True)
    name = models.CharField(max_length=1024)
    storage_key = models.CharField(max_length=255, unique=True)
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "name"],
                condition=models.Q(version__isnull=False),
                name="registry_file_name_uniq",
            ),
            models.UniqueConstraint(
                fields=["upload", "name"],
                condition=models.Q(version__isnull=True),
                name="registry_upload_name_uniq",
            ),
        ]
        indexes = [models.Index(fields=["upload"], name="registry_file_upload")]

    def __str__(self) -> str:
        return self.name


def new_storage_key() -> str:
    """Where a model file's bytes go: server ids only, beside the runs' files."""
    return f"models/{uuid.uuid4().hex}/{uuid.uuid4().hex}"
