"""The query layer: schema, scoped filters and every SQL statement Relais runs."""

import pandas as pd

# Text columns held in Python objects rather than Arrow arrays: the frames here are small, and pandas' Arrow-backed
# strings cost more in the many small operations of a page (column lookups, grouping, sorting) than they save:
# 10 % of an Overview's server time on a cache miss at province scale.
pd.set_option("mode.string_storage", "python")
