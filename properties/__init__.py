"""The shipped property files, installed as the package data ``checker.properties``."""
