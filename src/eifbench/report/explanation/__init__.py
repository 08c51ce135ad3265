"""Explanations built at measurement time: each desideratum's worst items in words, and its heatmap data."""
