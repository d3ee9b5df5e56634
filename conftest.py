# Fixtures shared by all test suites.
pytest_plugins = ["robosoul_devstack.testing"]
