"""Datasette plugins of review-tracker (installed through the `datasette` entry point `review_tracker`)."""
