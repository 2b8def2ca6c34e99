"""The linear SVM intent classifier trains, ranks with probabilities, persists and refuses foreign files."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix

from bot.nlu.svm_classifier import LinearSVMIntentClassifier

INTENTS = ("ask_measure", "ask_how_to_apply", "greet")


def message(vector: list[float], intent: str | None = None) -> Message:
    data = {"text": "x"} if intent is None else {"text": "x", "intent": intent}
    result = Message(data=data)
    result.add_features(Features(csr_matrix([vector]), "sentence", "text", "test"))
    return result


def training_data(per_intent: int = 12, seed: int = 0) -> TrainingData:
    # Each intent lights up its own feature, with noise on the others: separable, but not trivially.
    rng = np.random.default_rng(seed)
    examples = []
    for index, intent in enumerate(INTENTS):
        for _ in range(per_intent):
            vector = rng.random(len(INTENTS)) * 0.6
            vector[index] += 1.0
            examples.append(message(list(vector), intent))
    return TrainingData(training_examples=examples)


@pytest.fixture
def storage(tmp_path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


def create(storage: LocalModelStorage, **config) -> LinearSVMIntentClassifier:
    context = ExecutionContext(GraphSchema({}), node_name="svm")
    return LinearSVMIntentClassifier.create({**LinearSVMIntentClassifier.get_default_config(), **config},
                                            storage, Resource("svm"), context)


def load(storage: LocalModelStorage) -> LinearSVMIntentClassifier:
    context = ExecutionContext(GraphSchema({}), node_name="svm")
    return LinearSVMIntentClassifier.load(LinearSVMIntentClassifier.get_default_config(), storage,
                                          Resource("svm"), context)


def test_it_names_the_intent_each_feature_points_to_with_a_probability_ranking(storage):
    classifier = create(storage)
    classifier.train(training_data())
    probes = [message([1.2, 0.1, 0.2]), message([0.1, 1.3, 0.0]), message([0.0, 0.2, 1.1])]
    classifier.process(probes)
    assert [m.get("intent")["name"] for m in probes] == list(INTENTS)
    for probe in probes:
        ranking = [r["confidence"] for r in probe.get("intent_ranking")]
        assert ranking == sorted(ranking, reverse=True)
        assert sum(ranking) == pytest.approx(1.0)
        assert probe.get("intent")["confidence"] > 0.5


def test_a_loaded_classifier_gives_the_same_confidences(storage):
    trained = create(storage)
    trained.train(training_data())
    before, after = message([0.7, 0.6, 0.1]), message([0.7, 0.6, 0.1])
    trained.process([before])
    load(storage).process([after])
    assert after.get("intent_ranking") == before.get("intent_ranking")


def test_an_intent_with_few_examples_is_calibrated_with_fewer_folds(storage):
    classifier = create(storage, calibration_folds=5)
    data = training_data(per_intent=3)
    classifier.train(data)
    assert classifier.clf.cv == 3
    probe = message([0.0, 0.1, 1.2])
    classifier.process([probe])
    assert probe.get("intent")["name"] == "greet"


def test_an_intent_with_one_example_is_named_in_the_error(storage):
    data = training_data()
    data = TrainingData(training_examples=data.training_examples + [message([0.0, 0.0, 0.0], "handoff")])
    with pytest.raises(ValueError, match="handoff"):
        create(storage).train(data)


class Foreign:
    """A type the classifier never writes."""


def test_a_model_file_holding_other_types_is_not_loaded(storage, caplog):
    with storage.write_to(Resource("svm")) as directory:
        sio.dump({"payload": Foreign()}, directory / "svm.skops")
    classifier = load(storage)
    probe = message([1.0, 0.0, 0.0])
    classifier.process([probe])
    assert probe.get("intent") is None
    assert "No trained intent classifier" in caplog.text
