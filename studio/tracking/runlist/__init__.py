"""The runs list's domain side: what a list of runs is, how it is filtered, sorted and
paged. The studio, saved views, the API, the SDK's stores and the CLI all read runs
lists through this package.

Where does X live?

========================================  ==============================================
the state of a list (filters, columns,    ``state``: ``ListState``, ``Column``, ``Sort``,
sort, charts); column and sort keys        ``parse_column``, ``parse_sort``, ``clean_state``
the filter panel's parameters              ``filters``: ``RunFilterSet`` (django-filter),
(status, tag chips, dates ...)             ``clean_filter_params``
the filter language (search bar,           ``language``: lark grammar -> Q objects,
``filter=``, ``--filter``)                 ``compile_filter``, ``apply_filter``
sort, keyset pages, cursors, cells         ``pages``: ``page``, ``iterate``, ``Page``,
(metric/tag/property values per row)       ``attach_cells``, cursors
========================================  ==============================================

The HTML around it (table, columns menu, filter chips, links, CSV, bulk actions,
list charts) is ``studio.web.runlist``."""
