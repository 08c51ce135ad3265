"""Integrations with training frameworks (imported on demand; nothing here loads at ``import eifbench``)."""
