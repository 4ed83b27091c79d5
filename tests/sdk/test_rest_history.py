"""The REST store reads a numeric series in binary (``application/x-npy``), not JSON."""

import numpy as np

from studio.rules import seriescodec


def test_the_rest_store_asks_for_and_decodes_the_binary_form(rest_workspace, sdk, monkeypatch):
    decoded = []
    real = seriescodec.decode

    def spy(body):
        decoded.append(len(body))
        return real(body)

    monkeypatch.setattr(seriescodec, "decode", spy)
    run = sdk.Experiment(workspace=rest_workspace, name="history").start_logging()
    for step in range(5000):
        run.log("loss", 1.0 / (step + 1))
    history = run.get_metric_history("loss")
    assert len(decoded) == 1 and decoded[0] > 5000 * 24  # three 8-byte columns and headers
    assert history["steps"].tolist() == list(range(5000))
    assert np.array_equal(history["values"], 1.0 / np.arange(1, 5001))
