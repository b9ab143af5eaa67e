"""Stabilog's domain: incidents, grading, alerts, weeks, metrics, reports. No HTTP here."""
