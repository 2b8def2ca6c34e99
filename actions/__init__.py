"""Rasa SDK custom actions: thin wrappers that ask kb and utter a response named in domain.yml."""
