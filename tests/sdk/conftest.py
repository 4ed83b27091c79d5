import pytest


@pytest.fixture(params=["local", "rest"])
def ws(request, sdk):
    """The SDK's ``Workspace`` on each store in turn: what every store must do alike."""
    if request.param == "local":
        return sdk.Workspace.from_config()
    return request.getfixturevalue("rest_workspace")
