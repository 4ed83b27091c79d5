"""The runs list's filters: one django-filter FilterSet that every runs query goes
through (``runlist.query``): the studio's filter panel, saved views, the API, the
SDK's ``get_runs``/``get_children`` and ``studio run list``. Its field names are the
filter parameters of ``studio.rules.runquery.RunQuery.to_params``.

Its field names are the allowlist of what a list state may filter on
(docs/requirements.md C4): every lookup below is written here, no parameter name or
value ever reaches ``filter(**...)`` as a key, and the search bar goes through the
filter language's compiler (``tracking.runlist.language``), which has its own allowlist.

    ?status=Running&status=Failed&tag=lr=0.1&tag=best&q=metrics.loss < 0.2
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.datastructures import MultiValueDict

from studio.errors import StudioError
from studio.errors import ValidationError as StudioValidationError
from studio.rules import runquery, validation
from studio.rules.runquery import MAX_VALUES, split_chip
from studio.tracking.models import (
    Experiment,
    Run,
    RunProperty,
    RunStatus,
    RunTag,
    RunType,
    Workspace,
)
from studio.tracking.runlist import language

MAX_VALUE_LENGTH = 300
# A chip: a key, "=", a tag's or property's value.
MAX_CHIP_LENGTH = validation.MAX_KEY + 1 + validation.MAX_TAG_VALUE


class TextListField(forms.Field):
    """Several values of one query parameter (``?tag=a&tag=b``), each a short text."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, max_length: int = MAX_VALUE_LENGTH, **kwargs):
        self.max_length = max_length
        super().__init__(**kwargs)

    def to_python(self, value) -> list[str]:
        if value in (None, "", []):
            return []
        values = [value] if isinstance(value, str) else list(value)
        if len(values) > MAX_VALUES:
            raise forms.ValidationError(f"At most {MAX_VALUES} values.")
        clean = []
        for item in values:
            if not isinstance(item, str):
                raise forms.ValidationError("Values must be text.")
            item = item.strip()
            if not item:
                continue
            if len(item) > self.max_length:
                raise forms.ValidationError(f"A value is longer than {self.max_length} characters.")
            try:
                validation.text(item, "value", max_length=self.max_length)
            except StudioError as exc:
                raise forms.ValidationError(exc.message) from None
            if item not in clean:
                clean.append(item)
        return clean


class KeyValueListField(TextListField):
    """``key`` (has the key) or ``key=value`` chips, split on the first ``=``."""

    def to_python(self, value) -> list[str]:
        items = super().to_python(value)
        for item in items:
            key, _, _ = item.partition("=")
            try:
                validation.key(key.strip(), "key")
            except StudioError as exc:
                raise forms.ValidationError(exc.message) from None
        return items


class ExpressionField(forms.CharField):
    """The search bar: an expression of the filter language, compiled to check it;
    the error message points at the offending position."""

    def clean(self, value):
        value = super().clean(value)
        if value:
            try:
                language.compile_filter(value)
            except StudioError as exc:
                raise forms.ValidationError(exc.message) from None
        return value


class BoundedDateField(forms.DateField):
    """A day the list's date arithmetic can take (``runquery.MIN_DATE`` ..
    ``MAX_DATE``): 0001-01-01 or 9999-12-31 would overflow a day either side."""

    def clean(self, value):
        day = super().clean(value)
        if day is not None and not runquery.MIN_DATE <= day <= runquery.MAX_DATE:
            raise forms.ValidationError(
                f"Choose a day between {runquery.MIN_DATE} and {runquery.MAX_DATE}."
            )
        return day


class BoundedDateFilter(django_filters.DateFilter):
    field_class = BoundedDateField


class TextListFilter(django_filters.Filter):
    field_class = TextListField


class KeyValueListFilter(django_filters.Filter):
    field_class = KeyValueListField


class ExpressionFilter(django_filters.Filter):
    field_class = ExpressionField


def _rows_matching(model, chip: str) -> QuerySet:
    key, value = split_chip(chip)
    rows = model.objects.filter(key=validation.key(key, "key"))
    if value is not None:
        rows = rows.filter(value=value)
    return rows


class RunFilterSet(django_filters.FilterSet):
    """Filters of a workspace's runs. Tag and property chips, like the search bar's
    terms on tags, properties and metrics, keep the runs with a matching row as
    ``language.having`` writes it for the database at hand."""

    q = ExpressionFilter(method="filter_q", max_length=language.MAX_LENGTH, label="Search")
    status = django_filters.MultipleChoiceFilter(choices=RunStatus.choices, label="Status")
    type = django_filters.MultipleChoiceFilter(choices=RunType.choices, label="Type")
    experiment = TextListFilter(method="filter_experiment", label="Experiment", max_length=255)
    compute_target = TextListFilter(
        field_name="compute_target", lookup_expr="in", label="Compute target", max_length=100
    )
    submitted_by = TextListFilter(
        field_name="submitted_by", lookup_expr="in", label="Submitted by", max_length=150
    )
    tag = KeyValueListFilter(method="filter_tag", label="Tag", max_length=MAX_CHIP_LENGTH)
    prop = KeyValueListFilter(method="filter_prop", label="Property", max_length=MAX_CHIP_LENGTH)
    created_after = BoundedDateFilter(method="filter_created_after", label="Created from")
    created_before = BoundedDateFilter(method="filter_created_before", label="Created to")
    children = django_filters.BooleanFilter(
        method="filter_children", label="Include child runs", widget=forms.CheckboxInput
    )
    parent = django_filters.CharFilter(method="filter_parent", label="Children of", max_length=300)
    recursive = django_filters.BooleanFilter(
        method="filter_children", label="All descendants", widget=forms.CheckboxInput
    )

    class Meta:
        model = Run
        fields: list[str] = []

    def __init__(self, data=None, *, workspace: Workspace, queryset=None, **kwargs):
        self.workspace = workspace
        if queryset is None:
            queryset = Run.objects.filter(workspace=workspace)
        super().__init__(data, queryset=queryset, **kwargs)

    # django-filter deep-copies every filter (their widgets, choices and querysets) for
    # each FilterSet: a tenth of a first page of ``get_runs`` (issue 16). A filter's own
    # state per FilterSet is its ``parent``, ``model`` and the form field it builds on
    # first use (the form field copies its widget itself); nothing here changes a
    # filter's ``extra``, so a shallow copy of each is as independent.
    class _ShallowFilters(dict):
        def __deepcopy__(self, memo):
            return {name: _copy_filter(f) for name, f in self.items()}

    # And each FilterSet builds its form class anew: a form field per filter, then the
    # form deep-copies them all (0.8 ms, about a tenth of a first page). The fields are the same for
    # every FilterSet and nothing changes them per form, so the class is built once
    # and its forms share its fields.
    class _SharedFields(dict):
        def __deepcopy__(self, memo):
            return dict(self)

    def get_form_class(self):
        cls = type(self)
        form = cls.__dict__.get("_form_class")
        if form is None or form.base_fields.keys() != self.filters.keys():
            form = super().get_form_class()
            form.base_fields = RunFilterSet._SharedFields(form.base_fields)
            cls._form_class = form
        return form

    @property
    def qs(self) -> QuerySet[Run]:
        qs = super().qs
        data = self.form.cleaned_data if self.is_bound and self.form.is_valid() else {}
        # Without a parent or "include child runs", the list holds top-level runs; their
        # children open under them.
        if not data.get("parent") and not data.get("children"):
            qs = qs.filter(parent__isnull=True)
        # Archived runs are left out unless the filter names them (``archived``) or
        # the list is a named run's children (what ``get_children`` reads).
        if not data.get("parent") and not language.names_archived(data.get("q")):
            qs = qs.filter(archived=False)
        return qs

    def filter_q(self, qs, name, value):
        return language.apply_filter(qs, value) if value else qs

    def filter_experiment(self, qs, name, value):
        if not value:
            return qs
        return qs.filter(
            experiment__in=Experiment.objects.filter(workspace=self.workspace, name__in=value)
        )

    def filter_tag(self, qs, name, value):
        for chip in value:
            qs = qs.filter(language.having(_rows_matching(RunTag, chip), using=qs.db))
        return qs

    def filter_prop(self, qs, name, value):
        for chip in value:
            qs = qs.filter(language.having(_rows_matching(RunProperty, chip), using=qs.db))
        return qs

    def filter_created_after(self, qs, name, value):
        return qs.filter(created_at__gte=_day_start(value)) if value else qs

    def filter_created_before(self, qs, name, value):
        return qs.filter(created_at__lt=_day_start(value + dt.timedelta(days=1))) if value else qs

    def filter_children(self, qs, name, value):
        # ``children`` is applied in ``qs`` (it changes what the absence of filters
        # means), ``recursive`` by ``filter_parent``.
        return qs

    def filter_parent(self, qs, name, value):
        if not value:
            return qs
        if not self.form.cleaned_data.get("recursive"):
            return qs.filter(parent__run_id=value, parent__workspace=self.workspace)
        return qs.filter(pk__in=_descendants(self.workspace, value))


def _descendants(workspace: Workspace, run_id: str) -> list[int]:
    """Primary keys of every run below ``run_id``: one indexed query for the tree it
    belongs to (``root``), walked here; a top-level run's tree is all of it."""
    top = Run.objects.filter(run_id=run_id, workspace=workspace).values_list("pk", "root_id")
    found = top.first()
    if found is None:
        return []
    pk, root_id = found
    tree = Run.objects.filter(root_id=root_id or pk).values_list("pk", "parent_id")
    if root_id is None:
        return [child for child, _ in tree]
    children: dict[int, list[int]] = {}
    for child, parent in tree:
        children.setdefault(parent, []).append(child)
    below, stack = [], [pk]
    while stack:
        for child in children.get(stack.pop(), ()):
            below.append(child)
            stack.append(child)
    return below


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _copy_filter(f: django_filters.Filter) -> django_filters.Filter:
    copied = copy.copy(f)
    if f.method is not None:
        copied.method = f.method  # its FilterMethod must call the copy, not ``f``
    return copied


RunFilterSet.base_filters = RunFilterSet._ShallowFilters(RunFilterSet.base_filters)
FILTER_FIELDS: tuple[str, ...] = tuple(RunFilterSet.base_filters)


def clean_filter_params(params: Mapping[str, object], *, workspace: Workspace) -> dict:
    """The filter part of a list state, checked against the FilterSet: a dict of
    parameter -> list of strings, in FILTER_FIELDS order, with empty values dropped.
    Unknown parameters and invalid values raise a ValidationError naming them and the
    allowed ones (docs/requirements.md C4)."""
    validation.known_keys(params, FILTER_FIELDS, "filter", "filters")
    data = MultiValueDict()
    for key, raw in params.items():
        values = raw if isinstance(raw, list) else [raw]
        if len(values) > MAX_VALUES or not all(isinstance(v, str) for v in values):
            raise StudioValidationError(
                f"Filter {key!r} takes at most {MAX_VALUES} text values.", field=f"filters.{key}"
            )
        data.setlist(key, values)
    filterset = RunFilterSet(data, workspace=workspace)
    if not filterset.is_valid():
        field, errors = next(iter(filterset.form.errors.items()))
        raise StudioValidationError(f"Filter {field!r}: {errors[0]}", field=f"filters.{field}")
    clean: dict[str, list[str]] = {}
    for key in FILTER_FIELDS:
        values = [v.strip() for v in data.getlist(key) if v.strip()]
        if key == "children":
            values = ["1"] if filterset.form.cleaned_data.get("children") else []
        if values:
            clean[key] = list(dict.fromkeys(values))
    return clean
