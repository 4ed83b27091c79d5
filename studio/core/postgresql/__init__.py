"""Django's PostgreSQL backend with a health check that costs no round trip
(``base.DatabaseWrapper``); ``studio.settings`` names it for every ``DATABASE_URL``
on PostgreSQL."""
