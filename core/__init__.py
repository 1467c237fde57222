"""The core: where things live (paths, settings) and the product configuration. Imports nothing of the project."""
