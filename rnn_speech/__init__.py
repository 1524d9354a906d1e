"""rnn_speech: train and compare small recurrent speech classifiers from Hydra configs."""

__version__ = "0.1.0"
