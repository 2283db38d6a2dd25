"""The query layer: schema, scoped filters and every SQL statement Relais runs."""
