"""Models of the course: the recurrent classifier (GRU/LSTM), the MLP and the CNN.

Every model takes ``input_shape=(T, F)`` and ``num_classes`` (both from the data)
and offers ``param_derivation()`` and ``macs_per_example()`` for the report.
"""

from rnn_speech.models.cnn import CNNClassifier
from rnn_speech.models.mlp import MLPClassifier
from rnn_speech.models.rnn import RNNClassifier

__all__ = ["RNNClassifier", "MLPClassifier", "CNNClassifier"]
