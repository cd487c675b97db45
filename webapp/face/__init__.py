"""Faces: detection, people (faces grouped by similarity), and search by person."""
