"""Anomaly, change, drift and forecast detectors."""
