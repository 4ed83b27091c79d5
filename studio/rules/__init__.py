"""Rules the SDK, the CLI and the server share, with no Django import: names and
values users send (``validation``), the JSON codec, run file names and the file
layout of a run (``filenames``), run statuses and their transitions
(``transitions``), the pipeline step graph (``graph``) and metric data encoding
(``metricdata``). ``tests/test_layering.py`` imports them and the SDK and checks
that no Django module was loaded."""
