"""Synthetic data: its calibration, the two programs' demo data, the province-scale generator and demo users."""
