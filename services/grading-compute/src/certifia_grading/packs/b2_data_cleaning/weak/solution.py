"""Weak submission for b2_data_cleaning: zero-filling, no outlier detection, nothing removed or scaled."""

import pandas as pd


def clean(table: pd.DataFrame) -> dict:
    df = table.fillna(0)
    x = df[["revenue", "net_profit", "total_assets", "employees"]].to_numpy(dtype=float)
    return {
        "cleaned": df,
        "outliers": [False] * len(df),
        "standardized": x,
        "normalized": x,
        "revenue_band": [0] * len(df),
        "sector_encoded": pd.factorize(df["sector"])[0],
    }
