"""The application shell: CLI, channels, web app and settings. Imports kb; kb never imports it."""
