"""The pure domain of Stack Advisor: knowledge, scoring and explanations.

Imports neither ``telegram`` nor ``transitions``; performs no I/O after loading.
"""

from .errors import DataError, DataErrors, StackAdvisorError
from .knowledge import load_knowledge
from .loading import DEFAULT_DATA_DIR
from .model import Criterion, Knowledge, Option, Question, Stack
from .scoring import Recommendation, recommend, what_would_change

__all__ = [
    "DEFAULT_DATA_DIR",
    "Criterion",
    "DataError",
    "DataErrors",
    "Knowledge",
    "Option",
    "Question",
    "Recommendation",
    "Stack",
    "StackAdvisorError",
    "load_knowledge",
    "recommend",
    "what_would_change",
]
