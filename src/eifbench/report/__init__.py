"""Reports: records (JSON), tables (tabulate), HTML, and baseline comparison."""
