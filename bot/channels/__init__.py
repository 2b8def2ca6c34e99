"""Rasa input channels of this project (registered in credentials.yml); importing them changes nothing in Rasa."""
