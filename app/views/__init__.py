"""Blueprints, one per thing the app serves."""
