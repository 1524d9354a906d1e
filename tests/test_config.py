"""Fast checks of the composed Hydra config, through hydra's compose API (no subprocess)."""

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from rnn_speech import resolvers
from rnn_speech.models.derivation import counted

CONF = str(Path(__file__).resolve().parents[1] / "conf")
resolvers.register()


def composed(*overrides):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def test_defaults_are_the_assignment_recipe():
    cfg = composed()
    assert cfg.data._target_ == "rnn_speech.data.tts.load" and cfg.data.task == 12
    assert cfg.model.rnn_type == "GRU" and cfg.model.hidden_size == 64 and cfg.model.num_layers == 2
    assert list(cfg.model.fc_sizes) == [128, 128]
    assert cfg.seed.value == 0 and cfg.data.normalize == "scalar"
    assert (cfg.trainer.epochs, cfg.trainer.batch_size, cfg.trainer.eval_every) == (50, 1024, 1)
    assert cfg.resume is None


def test_adam_config_is_pytorch_default_adam():
    cfg = composed()
    params = [torch.nn.Parameter(torch.zeros(1))]
    ours = instantiate(cfg.optimizer)(params)
    reference = torch.optim.Adam(params)
    for key in ("lr", "eps", "weight_decay", "amsgrad"):
        assert ours.defaults[key] == reference.defaults[key], key
    assert tuple(ours.defaults["betas"]) == tuple(reference.defaults["betas"])


def test_course_sgd():
    opt = instantiate(composed("optimizer=sgd").optimizer)([torch.nn.Parameter(torch.zeros(1))])
    assert isinstance(opt, torch.optim.SGD)
    assert (opt.defaults["lr"], opt.defaults["momentum"], opt.defaults["weight_decay"]) == (0.01, 0.9, 1e-5)


@pytest.mark.parametrize("model,expected", [("gru", 70_531), ("lstm", 85_635), ("mlp", 567_171), ("cnn", 346_067)])
def test_each_model_config_instantiates_the_course_model(model, expected):
    m = instantiate(composed(f"model={model}").model, input_shape=(101, 40), num_classes=3)
    assert counted(m) == expected


@pytest.mark.parametrize("hidden,expected", [(32, 3 * (40 * 32 + 32 * 32 + 64) + 3 * (2 * 32 * 32 + 64) + 32 * 128 + 128
                                               + 128 * 128 + 128 + 128 * 3 + 3),
                                              (128, 3 * (40 * 128 + 128 * 128 + 256) + 3 * (2 * 128 * 128 + 256)
                                               + 128 * 128 + 128 + 128 * 128 + 128 + 128 * 3 + 3)])
def test_hidden_size_override(hidden, expected):
    m = instantiate(composed(f"model.hidden_size={hidden}").model, input_shape=(101, 40), num_classes=3)
    assert counted(m) == expected


def test_experiment_presets():
    cfg = composed("experiment=assignment3", "seed.value=3")
    assert cfg.model.rnn_type == "GRU" and cfg.trainer.epochs == 50 and cfg.optimizer._target_ == "torch.optim.Adam"
    assert cfg.seed.value == 3  # the command line still wins over the preset
    assert composed("+baseline=mlp").optimizer._target_ == "torch.optim.SGD"
    assert composed("+baseline=cnn").model._target_ == "rnn_speech.models.CNNClassifier"
