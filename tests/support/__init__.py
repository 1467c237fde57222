"""Builders shared by the test packages (dbt warehouses, lake files, report marts, the browser driver).

Test modules import from here, never from one another.
"""
