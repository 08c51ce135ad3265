"""Stimulus sources: the tasks each desideratum is measured on (see ``eifbench.tasks.base``)."""
