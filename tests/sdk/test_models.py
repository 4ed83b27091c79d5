"""The model registry through the SDK, on both stores: v1's ``run.register_model``,
``Model.register``, ``Model(ws, name, version)``, ``Model.list`` and ``download``."""

from __future__ import annotations

import io
import warnings

import pytest

from studio.errors import ModelNotFound, ModelPathNotFound, PropertyConflict, ValidationError
from studio.registry.models import ModelFile, ModelVersion


@pytest.fixture
def exp(ws, sdk):
    return sdk.Experiment(workspace=ws, name="train")


@pytest.fixture
def trained(exp):
    run = exp.start_logging()
    run.upload_file("outputs/model.pkl", io.BytesIO(b"weights-1"))
    run.upload_file("outputs/net/config.json", io.BytesIO(b"{}"))
    run.upload_file("outputs/net/layers/0.bin", io.BytesIO(b"layer0"))
    run.upload_file("outputs/model.pkl.bak", io.BytesIO(b"not the model"))
    return run


def test_register_model_from_a_run_file_keeps_v1_attributes(trained, ws, sdk):
    model = trained.register_model(
        "sklearn_mnist",
        model_path="outputs/model.pkl",
        tags={"area": "mnist"},
        properties={"accuracy": "0.91"},
        description="first try",
    )
    assert isinstance(model, sdk.Model)
    assert (model.name, model.version, model.id) == ("sklearn_mnist", 1, "sklearn_mnist:1")
    assert model.tags == {"area": "mnist"} and model.properties == {"accuracy": "0.91"}
    assert model.description == "first try"
    assert model.run_id == trained.id and model.experiment_name == "train"
    assert model.created_time.tzinfo is not None
    assert "/models/sklearn_mnist/1/" in model.url
    assert model.get_file_names() == ["model.pkl"]
    assert model.run == trained


def test_versions_increase_per_name(trained):
    first = trained.register_model("m", model_path="outputs/model.pkl")
    second = trained.register_model("m", model_path="outputs/model.pkl")
    other = trained.register_model("other", model_path="outputs/model.pkl")
    assert (first.version, second.version, other.version) == (1, 2, 1)


def test_a_folder_path_copies_every_file_below_it_and_nothing_beside_it(trained, tmp_path):
    model = trained.register_model("net", model_path="outputs/net")
    assert sorted(model.get_file_names()) == ["net/config.json", "net/layers/0.bin"]

    path = model.download(target_dir=tmp_path / "dl")

    assert path == str(tmp_path / "dl" / "net")
    assert (tmp_path / "dl" / "net" / "layers" / "0.bin").read_bytes() == b"layer0"


def test_model_path_defaults_to_the_model_name(exp):
    run = exp.start_logging()
    run.upload_file("model.onnx", io.BytesIO(b"onnx"))
    assert run.register_model("model.onnx").get_file_names() == ["model.onnx"]


def test_a_path_that_is_not_in_the_run_is_refused_by_name_and_creates_nothing(trained):
    with pytest.raises(ModelPathNotFound) as err:
        trained.register_model("m", model_path="outputs/missing.pkl")
    assert "outputs/missing.pkl" in err.value.message
    assert "outputs/model.pkl" in err.value.message  # the run's files are listed
    assert ModelVersion.objects.count() == 0 and ModelFile.objects.count() == 0
    # A file that only starts with the path is not under it.
    with pytest.raises(ModelPathNotFound):
        trained.register_model("m", model_path="outputs/model.pk")


def test_the_copy_survives_whatever_the_run_does_later(trained, tmp_path):
    model = trained.register_model("m", model_path="outputs/model.pkl")
    trained.complete()
    assert open(model.download(tmp_path), "rb").read() == b"weights-1"


def test_model_register_uploads_a_local_file(ws, sdk, tmp_path, capsys):
    (tmp_path / "sk.pkl").write_bytes(b"local weights")
    model = sdk.Model.register(
        workspace=ws,
        model_path=str(tmp_path / "sk.pkl"),
        model_name="sklearn_regression_model",
        tags={"area": "diabetes", "type": "regression"},
        description="Ridge regression model to predict diabetes",
    )
    assert "Registering model sklearn_regression_model" in capsys.readouterr().out
    assert (model.version, model.run_id, model.experiment_name) == (1, None, None)
    assert model.get_file_names() == ["sk.pkl"]
    out = tmp_path / "out"
    assert model.download(target_dir=out) == str(out / "sk.pkl")
    assert (out / "sk.pkl").read_bytes() == b"local weights"


def test_model_register_a_folder_and_child_paths(ws, sdk, tmp_path):
    folder = tmp_path / "export"
    (folder / "vars").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"pb")
    (folder / "vars" / "v.idx").write_bytes(b"idx")
    (folder / "notes.txt").write_bytes(b"skip me")
    whole = sdk.Model.register(ws, str(folder), "tf")
    some = sdk.Model.register(ws, str(folder), "tf", child_paths=["saved_model.pb", "vars"])
    assert sorted(whole.get_file_names()) == [
        "export/notes.txt",
        "export/saved_model.pb",
        "export/vars/v.idx",
    ]
    assert sorted(some.get_file_names()) == ["export/saved_model.pb", "export/vars/v.idx"]
    assert some.version == 2


def test_model_register_of_a_missing_local_path_names_it(ws, sdk, tmp_path):
    with pytest.raises(sdk.ModelPathNotFoundException) as err:
        sdk.Model.register(ws, str(tmp_path / "nope.pkl"), "m")
    assert "nope.pkl" in err.value.message
    assert ModelVersion.objects.count() == 0


def test_model_gets_the_latest_or_the_given_version(trained, ws, sdk):
    trained.register_model("m", model_path="outputs/model.pkl")
    trained.register_model("m", model_path="outputs/net")
    assert sdk.Model(ws, "m").version == 2
    assert sdk.Model(ws, "m", version=1).get_file_names() == ["model.pkl"]
    assert sdk.Model(ws, id="m:1").version == 1
    assert sdk.Model(ws, name="m", version="1").version == 1


def test_a_missing_model_raises_v1s_not_found(ws, sdk, trained):
    trained.register_model("m", model_path="outputs/model.pkl")
    for call in (lambda: sdk.Model(ws, "nope"), lambda: sdk.Model(ws, "m", version=7)):
        with pytest.raises(sdk.WebserviceException) as err:
            call()
        assert isinstance(err.value, sdk.ModelNotFoundException)
        assert "ModelNotFound" in err.value.message  # what v1 code tests for


def test_model_list_filters_like_v1(trained, ws, sdk):
    a1 = trained.register_model("a", "outputs/model.pkl", tags={"area": "mnist", "t": "x"})
    a2 = trained.register_model("a", "outputs/model.pkl", tags={"area": "iris"})
    b1 = trained.register_model("b", "outputs/model.pkl", properties={"acc": "0.9"})
    other = ws._store.create_run(ws.name, "train")
    ids = lambda models: [m.id for m in models]  # noqa: E731

    assert ids(sdk.Model.list(ws)) == [b1.id, a2.id, a1.id]
    assert ids(sdk.Model.list(ws, name="a")) == [a2.id, a1.id]
    assert ids(sdk.Model.list(ws, tags=["area"])) == [a2.id, a1.id]
    assert ids(sdk.Model.list(ws, tags=[["area", "mnist"], "t"])) == [a1.id]
    assert ids(sdk.Model.list(ws, properties=[["acc", "0.9"]])) == [b1.id]
    assert ids(sdk.Model.list(ws, latest=True)) == [b1.id, a2.id]
    assert ids(sdk.Model.list(ws, run_id=trained.id)) == [b1.id, a2.id, a1.id]
    assert sdk.Model.list(ws, run_id=other["id"]) == []
    assert sdk.Model(ws, "a", tags=[["area", "mnist"]]).version == 1
    assert sorted(ws.models) == ["a", "b"] and ws.models["a"].version == 2


def test_download_refuses_to_overwrite_unless_exist_ok(trained, tmp_path):
    model = trained.register_model("m", model_path="outputs/model.pkl")
    (tmp_path / "model.pkl").write_bytes(b"mine")
    with pytest.raises(Exception) as err:
        model.download(tmp_path)
    assert "exist_ok" in str(err.value)
    assert (tmp_path / "model.pkl").read_bytes() == b"mine"
    model.download(tmp_path, exist_ok=True)
    assert (tmp_path / "model.pkl").read_bytes() == b"weights-1"


def test_tags_change_and_properties_only_grow(trained, ws, sdk):
    model = trained.register_model("m", "outputs/model.pkl", tags={"a": "1"}, properties={"p": "1"})
    model.add_tags({"b": "2"})
    model.remove_tags(["a"])
    model.add_properties({"q": "2"})
    again = sdk.Model(ws, "m")
    assert again.tags == {"b": "2"} and again.properties == {"p": "1", "q": "2"}
    with pytest.raises(PropertyConflict):
        model.add_properties({"p": "changed"})
    model.update(tags={"c": "3"}, description="better")
    assert (sdk.Model(ws, "m").tags, sdk.Model(ws, "m").description) == ({"c": "3"}, "better")


def test_cloud_only_keywords_are_recorded_and_warned_about_once(trained, sdk):
    from studio.sdk import model as model_module

    model_module._warned.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = trained.register_model(
            "m",
            "outputs/model.pkl",
            model_framework="ScikitLearn",
            model_framework_version="1.5",
            resource_configuration="cpu=1",
            datasets=[("training data", "ds")],
        )
        trained.register_model("m", "outputs/model.pkl", resource_configuration="cpu=2")
    messages = [str(w.message) for w in caught]
    assert sum("resource_configuration" in m for m in messages) == 1
    assert sum("datasets" in m for m in messages) == 1
    assert all("\n" not in m for m in messages)
    assert first.model_framework == "ScikitLearn" and first.model_framework_version == "1.5"
    assert first.properties["azureml.resource_configuration"] == "cpu=1"
    assert [m.version for m in sdk.Model.list(first.workspace, model_framework="ScikitLearn")] == [
        1
    ]


def test_tag_values_that_are_not_strings_are_stored_as_str(trained):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = trained.register_model("m", "outputs/model.pkl", tags={"epochs": 10})
    assert model.tags == {"epochs": "10"}


@pytest.mark.parametrize("bad", ["", "-leading", "a b", "x" * 256, "a/b"])
def test_bad_model_names_are_refused_before_anything_is_stored(trained, bad):
    with pytest.raises(ValidationError):
        trained.register_model(bad, model_path="outputs/model.pkl")
    assert ModelVersion.objects.count() == 0 and ModelFile.objects.count() == 0


def test_get_model_path_downloads_into_the_v1_cache(trained, ws, sdk, tmp_path, monkeypatch):
    from studio.sdk import model as model_module

    monkeypatch.setattr(model_module, "MODELS_DIR", str(tmp_path / "azureml-models"))
    trained.register_model("m", model_path="outputs/model.pkl")
    path = sdk.Model.get_model_path("m", _workspace=ws)
    assert path == str(tmp_path / "azureml-models" / "m" / "1" / "model.pkl")
    # Afterwards the cache alone finds it.
    assert sdk.Model.get_model_path("m") == path
    with pytest.raises(ModelNotFound):
        sdk.Model.get_model_path("never-registered")
