"""Rasa input channels of this project (registered in credentials.yml)."""

from bot import rasa_patches

rasa_patches.install()
