"""Domain errors. Messages name the file and key so an admin can fix the input."""

from __future__ import annotations


class KBError(Exception):
    """Base class for knowledge-base errors the CLI turns into one-line messages."""


class SeedError(KBError):
    """One problem in one input file, located by file and key."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        """Keep the file, key and problem; the message names all three."""
        self.file = file
        self.key = key
        self.problem = problem
        super().__init__(f"{file}, {key}: {problem}")


class ValidationFailed(KBError):
    """Every problem found in an input; nothing was written."""

    def __init__(self, errors: list[SeedError]) -> None:
        """Keep the problems; the message lists each one and says nothing was written."""
        self.errors = errors
        lines = "\n".join(f"  {error}" for error in errors)
        super().__init__(f"{len(errors)} problem(s), nothing was written:\n{lines}")
