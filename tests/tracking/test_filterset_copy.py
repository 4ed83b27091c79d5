"""RunFilterSet copies its filters shallowly (django-filter deep-copies them, a tenth of
a first page of ``get_runs``): each FilterSet still has filters of its own, bound to it."""

from __future__ import annotations

from django.utils.datastructures import MultiValueDict

from studio.tracking.models import Experiment, Run
from studio.tracking.runlist.filters import RunFilterSet


def test_each_filterset_has_its_own_filters_bound_to_it(experiment):
    other = Experiment.objects.create(workspace=experiment.workspace, name="other")
    a = RunFilterSet(MultiValueDict({"experiment": ["other"]}), workspace=experiment.workspace)
    b = RunFilterSet(MultiValueDict({}), workspace=experiment.workspace)
    for name in a.filters:
        assert a.filters[name] is not b.filters[name]
        assert a.filters[name] is not RunFilterSet.base_filters[name]
        assert a.filters[name].parent is a and b.filters[name].parent is b
        if a.filters[name].method is not None:
            assert a.filters[name].filter.f is a.filters[name]  # calls its own copy
    assert a.is_valid() and b.is_valid()
    Run.objects.create(workspace=experiment.workspace, experiment=other, number=1, run_id="other_1")
    assert [r.run_id for r in a.qs] == ["other_1"]
    assert not hasattr(RunFilterSet.base_filters["experiment"], "parent")  # never bound


def test_filtersets_share_one_form_class_and_keep_their_own_data_and_errors(experiment):
    ws = experiment.workspace
    good = RunFilterSet(MultiValueDict({"status": ["Completed"]}), workspace=ws)
    bad = RunFilterSet(MultiValueDict({"status": ["Nonsense"], "q": ["(("]}), workspace=ws)
    assert type(good.form) is type(bad.form)
    assert good.form.fields["status"] is bad.form.fields["status"]  # shared, not copied
    assert good.is_valid() and not bad.is_valid()
    assert set(bad.form.errors) == {"status", "q"} and not good.form.errors
    assert good.form.cleaned_data["status"] == ["Completed"]
    again = RunFilterSet(MultiValueDict({}), workspace=ws)
    assert again.is_valid() and again.form.cleaned_data["status"] == []
    assert not again.form.errors  # nothing of bad's left on the shared fields
