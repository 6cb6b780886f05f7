"""Stored text made presentable: answers as safe HTML, previews, times, and exports."""
