"""An intent classifier: a linear SVM over the sparse n-gram features, with calibrated confidences.

On our data a linear SVM separates the kinds of question better than Rasa's logistic regression
(cross-validated intent F1 in bench/README.md). An SVM gives margins, not probabilities, and the
FallbackClassifier needs a confidence, so the margins are turned into probabilities by Platt scaling
fitted on out-of-fold predictions (one SVM trained on all examples, not an average of fold models).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

# What a persisted classifier may contain beyond the types skops trusts by default.
_TRUSTED_TYPES = ["sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration"]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearSVMIntentClassifier(LogisticRegressionClassifier):
    """Rasa's logistic regression classifier with the estimator swapped.

    Training, features and output are the parent's.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The parent's defaults with C = 0.2 and 5 calibration folds."""
        return {
            **LogisticRegressionClassifier.get_default_config(),
            # Smaller C = wider margin; 0.1–0.3 cross-validate best on our examples.
            "C": 0.2,
            "calibration_folds": 5,
        }

    def __init__(
        self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource,
    ) -> None:
        """Set up an untrained linear SVM, calibrated so that it gives probabilities, from the config."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import LinearSVC

        super().__init__(config, name, model_storage, resource)
        svm = LinearSVC(
            C=self.config["C"], class_weight="balanced", max_iter=self.config["max_iter"],
            tol=self.config["tol"], random_state=self.config["random_state"],
        )
        self.clf = CalibratedClassifierCV(svm, cv=self.config["calibration_folds"], ensemble=False)

    def train(self, training_data: TrainingData) -> Resource:
        """Fit and persist the classifier; refuses intents with a single example, which cannot be calibrated."""
        X, y = self._create_training_matrix(training_data)
        if X.shape[0] == 0:
            return self._resource
        # CalibratedClassifierCV (sklearn 1.1) counts examples per class with `y == label`, which is
        # False for a list: the labels must be an array.
        y = np.asarray(y)
        labels, counts = np.unique(y, return_counts=True)
        if counts.min() < 2:
            rare = ", ".join(str(label) for label, count in zip(labels, counts, strict=True) if count < 2)
            raise ValueError(f"intents with a single example cannot be calibrated; add examples for: {rare}")
        self.clf.cv = min(self.config["calibration_folds"], int(counts.min()))
        self.clf.fit(X, y)
        self.persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        """The parent's intent predictions; messages left without an intent when the classifier was never trained."""
        if not hasattr(self.clf, "classes_"):
            return messages  # never trained (no examples) or not loadable: no intent rather than a crash
        return super().process(messages)

    @classmethod
    def load(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext, **kwargs: Any,
    ) -> LinearSVMIntentClassifier:
        """The component with its persisted classifier; untrained when none is stored or it holds unexpected types."""
        import skops.io as sio

        component = cls(config, execution_context.node_name, model_storage, resource)
        try:
            with model_storage.read_from(resource) as model_dir:
                path = model_dir / f"{resource.name}.skops"
                untrusted = sio.get_untrusted_types(file=path)
                unexpected = sorted(set(untrusted) - set(_TRUSTED_TYPES))
                if unexpected:
                    raise ValueError(f"{path} holds types this classifier never writes: {unexpected}")
                component.clf = sio.load(path, trusted=untrusted)
        except ValueError:
            # An untrained component, which leaves messages without an intent (see `process`).
            logger.warning("No trained intent classifier in resource '%s'.", resource.name, exc_info=True)
        return component
