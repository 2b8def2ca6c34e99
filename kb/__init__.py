"""The policy knowledge base: a plain library with no Rasa import.

Layers import one way: errors → models → queries/search/format → loader/exporter.
"""
