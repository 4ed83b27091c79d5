"""Put first on the PYTHONPATH of every job Studio starts: when (and only when) the
job imports azureml-core, its file uploads go to the content URI Studio handed out,
as one plain HTTP PUT of the whole stream.

Why: azureml-core rewrites every upload URL to ``https://{label}.blob.{rest}`` and
speaks the Azure Blob protocol to it (Put Blob, or Put Block + Put Block List above
64 MiB, then a HEAD). Serving that would take a TLS certificate for a made-up host
name and name resolution inside every job; replacing the one function that does it
(``azureml._file_utils.upload.upload_blob_from_stream``) takes this file. The
stream is sent as it is read, any size, with its length: Studio refuses a body that
ends early, so a file arrives whole or not at all. Downloads need nothing: the
client fetches URIs that are not Azure Blob ones with plain GETs.

No Studio import here (the job's interpreter may not have it), and any other
``sitecustomize`` later on the path still runs.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import time

_TARGET = "azureml._file_utils.upload"


def upload_blob_from_stream(
    stream, url, content_type=None, session=None, timeout=None, backoff=None, retries=None
):
    """What azureml-core calls to upload ``stream`` to ``url`` (a Studio content URI)."""
    import requests

    start = stream.tell()
    attempts = max(1, min(int(retries or 3), 5))
    for attempt in range(attempts):
        stream.seek(start)
        last = attempt == attempts - 1
        try:
            response = (session or requests).put(
                url,
                data=stream,
                headers={"Content-Type": "application/octet-stream"},
                timeout=timeout or 600,
            )
        except requests.ConnectionError:
            if last:
                raise
            time.sleep(float(backoff or 1) * (attempt + 1))
            continue
        if response.status_code in (200, 201):
            return response
        if response.status_code >= 500 and not last:
            time.sleep(float(backoff or 1) * (attempt + 1))
            continue
        from azureml._common.exceptions import AzureMLException

        try:
            message = response.json()["error"]["message"]
        except Exception:  # not Studio's answer: show what came back
            message = response.text[:500]
        raise AzureMLException(f"Studio refused the upload ({response.status_code}): {message}")


class _Loader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        module.upload_blob_from_stream = upload_blob_from_stream


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != _TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def _chain():
    """Run the next ``sitecustomize`` on the path (a venv's or the system's)."""
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


if os.environ.get("AZUREML_SERVICE_ENDPOINT"):
    sys.meta_path.insert(0, _Finder())
_chain()
