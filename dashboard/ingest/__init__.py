"""Files in: CSV reading, the importer and the boundary import; each returns a report and never prints."""
