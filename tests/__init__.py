"""The test suite: unit/, dbt/, integration/, e2e/ and the shared builders in support/ (see tests/conftest.py)."""
