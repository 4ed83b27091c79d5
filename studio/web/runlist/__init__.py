"""The runs list's HTML side: what the studio shows around a list of runs. The list
itself (state, filters, filter language, sort and keyset pages) is
``studio.tracking.runlist``.

Where does X live?

========================================  ==============================================
the table a page renders (rows, header,   ``tables``: ``runs_table``, ``children_rows``,
pager, filter panel context)               ``normalized_url``
column headers, cells, the columns menu    ``columns`` (the menu's keys and counts:
(baseline differences in metric cells)     ``tracking.runlist.catalog``)
filter chips and the filter panel options  ``filters``
links that keep the list's state           ``links``: ``ListLinks``
CSV export                                 ``export``
bulk compare / tag / cancel                ``bulk``
charts of a metric across listed runs      ``charts``
========================================  ==============================================
"""
