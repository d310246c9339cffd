"""Weak submission for b2_timeseries_gaps: the global mean everywhere there is a gap."""


def fill(series):
    return series.fillna({"value": series["value"].mean()})
