"""The one root exception of the project, and the error for bad data files."""

from __future__ import annotations


class StackAdvisorError(Exception):
    """Root of every error this project raises on purpose."""


class DataError(StackAdvisorError):
    """A data file is missing, unparsable or fails validation.

    The message always names the file and the key path, e.g.
    ``data/questions.yaml: questions[3].options[1].weights.secrity: unknown criterion``.
    """

    def __init__(self, file: str, path: str, problem: str) -> None:
        self.file = file
        self.path = path
        self.problem = problem
        where = f"{file}: {path}: " if path else f"{file}: "
        super().__init__(f"{where}{problem}")


class DataErrors(DataError):
    """Several problems at once (every language's, say), each naming its file and key."""

    def __init__(self, problems: list[DataError]) -> None:
        self.problems = problems
        first = problems[0] if problems else DataError("data", "", "invalid")
        super().__init__(first.file, first.path, first.problem)
        self.args = ("\n".join(str(p) for p in problems) or str(first),)

    def __str__(self) -> str:
        return str(self.args[0])
