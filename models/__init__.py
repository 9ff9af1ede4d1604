"""The built-in models, installed as the package data ``checker.models``."""
