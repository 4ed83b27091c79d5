"""A static-files finder for vendored libraries shipped inside Python packages.

plotly.js comes with the ``plotly`` package (``plotly/package_data/plotly.min.js``):
it is served as ``vendor/plotly.min.js`` from there, so there is no copy to keep in
step with the installed version and no CDN. ``collectstatic`` picks it up too.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage


def _vendored() -> dict[str, Path]:
    import plotly

    return {"vendor/plotly.min.js": Path(plotly.__file__).parent / "package_data/plotly.min.js"}


class VendorFinder(BaseFinder):
    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        found = _vendored().get(path)
        if found is None or not found.is_file():
            return []  # what Django's own finders answer for "not here"
        return [str(found)] if find_all else str(found)

    def list(self, ignore_patterns):
        for name, file in _vendored().items():
            if file.is_file():
                storage = FileSystemStorage(location=str(file.parent))
                storage.prefix = str(Path(name).parent)  # collectstatic: vendor/<file>
                yield file.name, storage
