"""The ``studio`` command line (``studio.cli.main:main``), through the SDK only: no
Django import here, so it starts without Django configured."""
