"""Rendering: the terminal table, markdown, HTML, SVG figures and charts, and writing the files a run asked for."""
