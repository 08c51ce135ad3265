"""The pytest plugin: ``--eif-*`` options, the session, parametrization, outcomes and the run's reports."""
