"""The studio's HTML views, one module per group of pages (studio/web/urls.py maps
them): ``runs`` (the runs list and its fragments), ``run_page`` (one run and its
fragments), ``compare``, ``experiments``, ``saved_views``, ``members``, ``tokens``.
Each view is a short function: decorators, access helper, form or list state, a
service or selector, render. What the runs list is built from lives in
``studio.web.runlist``; the run page's tabs in ``studio.web.views.run_page``."""
