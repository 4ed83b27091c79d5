"""The runs list's domain side: what a list of runs is, how it is filtered, sorted and
paged. The studio, saved views, the API, the SDK's stores and the CLI all describe a
list as one ``RunQuery`` and read it through ``query`` here.

Where does X live?

========================================  ==============================================
which runs, in which order: the one       ``studio.rules.runquery`` (no Django):
runs query; column and sort keys           ``RunQuery`` (``of``, ``to_params``,
                                           ``from_params``, ``validate``), ``Column``,
                                           ``Sort``, ``parse_column``, ``parse_sort``
a RunQuery turned into runs (FilterSet     ``query``: ``runs``, ``page``, ``each``,
queryset, keyset page, every page)         ``filterset``, ``reap``
the state of a list (its query plus        ``state``: ``ListState`` (``.query``),
columns, pins, widths, baseline, charts,   ``clean_state``
grouping), what a view stores
the filter panel's parameters              ``filters``: ``RunFilterSet`` (django-filter),
(status, tag chips, dates ...)             ``clean_filter_params``
the filter language (search bar,           ``language``: lark grammar -> Q objects,
``filter=``, ``--filter``)                 ``compile_filter``, ``apply_filter``
sort, keyset pages, cursors, cells         ``pages``: ``page``, ``iterate``, ``Page``,
(metric/tag/property values per row)       ``attach_cells``, cursors
what the listed runs logged (keys with     ``catalog``: ``catalog``, ``Catalog``,
counts, constant ones), loss-like names    ``lower_is_better``, ``ascending_first``
========================================  ==============================================

The HTML around it (table, columns menu, filter chips, links, CSV, bulk actions,
list charts) is ``studio.web.runlist``."""
