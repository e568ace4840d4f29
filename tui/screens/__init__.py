"""Screens, grouped by stage of the journey."""
