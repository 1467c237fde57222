"""Portfolio scoring (RICE + Kano mix) over the marts: pure Python + pandas, no Dagster (orchestration wires it)."""
