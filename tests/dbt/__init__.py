"""dbt builds and dbt unit tests on tiny lakes, in real dbt processes."""
