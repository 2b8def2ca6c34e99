"""A Rasa NLU component that normalises Chinese text before jieba sees it.

Firms type full-width digits (２０２５), traditional characters (雙尖雙領) and long
pastes; the tokenizer and featurizers should see the same simplified, half-width
text the training data uses. Training examples are left untouched: their entity
offsets must stay valid, and they are written in normalised form already.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from kb.text import MAX_NLU_CHARS, normalize, question_in


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class ChineseTextNormalizer(GraphComponent):
    """Rasa NLU component: a message's text made simplified and half-width before jieba and the featurizers."""

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext,
    ) -> ChineseTextNormalizer:
        """A new normalizer (it has no settings)."""
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """The training data as it is."""
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """The messages with their text normalised; a text too long for NLU is cut to the question in it."""
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            normalized = normalize(text)
            if len(normalized) > MAX_NLU_CHARS:
                normalized = question_in(normalized)
            message.set(TEXT, normalized)
        return messages
