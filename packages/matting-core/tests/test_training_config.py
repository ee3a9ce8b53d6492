"""Training configs: validation with the key in every message, overrides, TOML round trip."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import training_support as support

from matting_core.errors import ConfigError
from matting_core.training.config import (
    OptimConfig,
    TrainConfig,
    apply_overrides,
    check_names,
    config_from_dict,
    config_to_dict,
    dump_config,
    load_config,
    parse_override,
)

MINIMAL = """
[model]
name = "train-tiny"

[data]
train = "gt01-tiny"
"""
#: MINIMAL with the one key every runnable config needs: the run's length.
RUNNABLE = MINIMAL + "\n[run]\nsteps = 1000\n"


@pytest.fixture
def plugin():
    support.ensure_plugin()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_gets_defaults(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL), ["run.steps=1000"])
    assert isinstance(cfg, TrainConfig)
    assert cfg.model.name == "train-tiny"
    assert cfg.optim == OptimConfig()
    assert cfg.adversarial is None
    assert cfg.run.steps == 1000 and cfg.run.epochs == 0


@pytest.mark.parametrize(
    "overrides", [[], ["run.steps=10", "run.epochs=2"], ["run.steps=0", "run.epochs=0"]]
)
def test_the_length_is_steps_or_epochs(tmp_path, overrides):
    with pytest.raises(ConfigError, match=r"^run.steps: give the length of the run as run.st"):
        load_config(write(tmp_path, MINIMAL), overrides)
    assert load_config(write(tmp_path, MINIMAL), ["run.epochs=3"]).run.epochs == 3


def test_full_config_types(tmp_path):
    text = (
        RUNNABLE
        + """
[optim]
name = "adam"
lr = 4e-4
betas = [0.5, 0.999]
accumulate = 2

[schedule]
name = "warmup_cosine"
warmup_steps = 10

[loss]
terms = { l1_unknown = 1, alpha_prediction = 0.5 }

[loss.options.alpha_prediction]
region = "unknown"

[adversarial]
weight = 0.05

[adversarial.optim]
name = "sgd"
lr = 1e-3
"""
    )
    cfg = load_config(write(tmp_path, text))
    assert cfg.optim.betas == (0.5, 0.999)
    assert cfg.optim.lr == 4e-4
    assert cfg.loss.terms == {"l1_unknown": 1.0, "alpha_prediction": 0.5}
    assert isinstance(cfg.loss.terms["l1_unknown"], float)
    assert cfg.loss.options == {"alpha_prediction": {"region": "unknown"}}
    assert cfg.discriminator_optim.name == "sgd"
    assert cfg.discriminator_schedule == cfg.schedule


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[optim]\nlrr = 1e-4", "optim.lrr: unknown key; did you mean optim.lr?"),
        ("[optim]\nlr = 'fast'", "optim.lr: expected a float, got 'fast'"),
        ("[run]\nsteps = 1.5", "run.steps: expected an integer, got 1.5"),
        ("[run]\nsteps = true", "run.steps: expected an integer, got true"),
        ("[amp]\nenabled = 1", "amp.enabled: expected true or false, got 1"),
        (
            "[optim]\nname = 'adm'",
            "optim.name: expected one of adam, adamw, sgd, got 'adm'; did you mean 'adam'?",
        ),
        (
            "[optim]\nbetas = [0.9]",
            "optim.betas: expected an array of 2 floats, got an array [0.9]",
        ),
        ("[optim]\nbetas = [0.9, 'x']", "optim.betas[1]: expected a float, got 'x'"),
        (
            "[loss]\nterms = { l1_unknown = 'x' }",
            "loss.terms.l1_unknown: expected a float, got 'x'",
        ),
        ("[optim]\nlr = -1.0", "optim.lr: must be > 0, got -1.0"),
        ("[schedul]\nname = 'poly'", "schedul: unknown key; did you mean schedule?"),
        ("optim = 3", "optim: expected a table, got 3"),
        (
            "[adversarial.optim]\nmomentun = 0.5",
            "adversarial.optim.momentun: unknown key; did you mean adversarial.optim.momentum?",
        ),
        ("[schedule]\nmin_lr = 1.0", "schedule.min_lr: must not exceed optim.lr"),
        (
            "[loss]\nterms = { mse = 1.0 }\n[loss.options.ssim]\nwindow_size = 7",
            "loss.options.ssim: is for a loss that is not in loss.terms",
        ),
        (
            "[loss]\nterms = { mse = 1.0 }\n[loss.schedules.ssim]\nvalues = [0.1]",
            "loss.schedules.ssim: is for a loss that is not in loss.terms",
        ),
        (
            "[loss]\nterms = { ssim = 0.1 }\n[loss.schedules.ssim]\nmilestones = [1]\n"
            "values = [0.1]",
            "loss.schedules.ssim.values: must hold one value more than milestones (1), got 1",
        ),
        (
            "[loss]\nterms = { ssim = 0.1 }\n[loss.schedules.ssim]\nmilestones = [2, 1]\n"
            "values = [0.1, 0.2, 0.3]",
            "loss.schedules.ssim.milestones: must be increasing and > 0, got [2, 1]",
        ),
        (
            "[loss]\nterms = { ssim = 0.025 }\n[loss.schedules.ssim]\nmilestones = [1]\n"
            "values = [0.1, 0.025]",
            "loss.terms.ssim: is 0.025 but loss.schedules.ssim starts at 0.1",
        ),
        ("[adversarial]\nd_every = 0", "adversarial.d_every: must be >= 1, got 0"),
    ],
)
def test_bad_values_name_the_key(tmp_path, extra, message):
    # top-level keys must come before the first table
    text = extra + "\n" + MINIMAL if extra.startswith("optim =") else MINIMAL + "\n" + extra
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert message in str(info.value)


def test_missing_required(tmp_path):
    with pytest.raises(ConfigError, match=r"^model: required table is missing"):
        load_config(write(tmp_path, "[data]\ntrain = 'x'\n"))
    with pytest.raises(ConfigError, match=r"^data.train: required key is missing"):
        load_config(write(tmp_path, "[model]\nname = 'x'\n[data]\nbatch_size = 2\n"))


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[model\nname = 1"))


def test_overrides(tmp_path):
    path = write(tmp_path, MINIMAL)
    cfg = load_config(
        path,
        [
            "optim.lr=4e-4",
            "optim.betas=[0.5, 0.999]",
            "run.steps=20",
            "amp.enabled=true",
            "model.options.width=12",
            "loss.terms.mse=1",
            "data.val=gt01-tiny",  # bare word: a string
            "schedule.name=poly",
        ],
    )
    assert cfg.optim.lr == 4e-4
    assert cfg.optim.betas == (0.5, 0.999)
    assert cfg.run.steps == 20
    assert cfg.amp.enabled is True
    assert cfg.model.options == {"width": 12}
    assert cfg.loss.terms == {"mse": 1.0}
    assert cfg.data.val == "gt01-tiny"
    assert cfg.schedule.name == "poly"


def test_override_errors(tmp_path):
    path = write(tmp_path, MINIMAL)
    with pytest.raises(ConfigError, match=r"optim.lrr: unknown key; did you mean optim.lr\?"):
        load_config(path, ["optim.lrr=1e-3"])
    with pytest.raises(ConfigError, match=re.escape("optim.lr: expected a float, got 'fast'")):
        load_config(path, ["optim.lr=fast"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_config(path, ["optim.lr"])
    with pytest.raises(ConfigError, match=re.escape("model.name is 'train-tiny', not a table")):
        load_config(path, ["model.name.x=1"])


def test_parse_override_values():
    assert parse_override("a.b=1") == (["a", "b"], 1)
    assert parse_override("a=1.5") == (["a"], 1.5)
    assert parse_override("a='x y'") == (["a"], "x y")
    assert parse_override("a=/data/comp1k") == (["a"], "/data/comp1k")
    assert parse_override("a = { x = 1 }") == (["a"], {"x": 1})
    assert apply_overrides({"a": {"b": 1}}, ["a.c=2"]) == {"a": {"b": 1, "c": 2}}


def test_dump_round_trip(tmp_path):
    text = (
        RUNNABLE
        + """
[optim]
betas = [0.5, 0.999]
lr = 1e-5

[loss]
terms = { l1_unknown = 1.0, "odd name" = 2.0 }

[adversarial]
options = { base_channels = 8, norm = "instance" }

[adversarial.schedule]
name = "poly"
"""
    )
    cfg = load_config(write(tmp_path, text), ['data.train_root=C:\\data\\"quoted"\tx'])
    dumped = dump_config(cfg)
    again = load_config(write(tmp_path, dumped))
    assert again == cfg
    assert config_to_dict(again) == config_to_dict(cfg)
    assert "[adversarial.schedule]" in dumped


def test_check_names(plugin, tmp_path):
    cfg = load_config(write(tmp_path, RUNNABLE), ["loss.terms.l1_unknown=1"])
    check_names(cfg)  # all known
    bad_model = config_from_dict({**config_to_dict(cfg), "model": {"name": "train-tinny"}})
    with pytest.raises(
        ConfigError, match=r"^model.name: unknown model 'train-tinny'; did you mean 'train-tiny'"
    ):
        check_names(bad_model)
    bad_option = config_from_dict(
        {**config_to_dict(cfg), "model": {"name": "train-tiny", "options": {"widht": 3}}}
    )
    with pytest.raises(ConfigError, match=r"^model.options: .*'widht'"):
        check_names(bad_option)
    bad_loss = load_config(write(tmp_path, RUNNABLE), ["loss.terms.l1_unknwn=1"])
    with pytest.raises(
        ConfigError,
        match=r"^loss.terms.l1_unknwn: unknown loss 'l1_unknwn'; did you mean 'l1_unknown'",
    ):
        check_names(bad_loss)
    bad_loss_option = load_config(
        write(tmp_path, RUNNABLE), ["loss.terms.ssim=1", "loss.options.ssim.size=3"]
    )
    with pytest.raises(
        ConfigError, match=r"^loss.options.ssim: .*'size'.*valid options: window_size, sigma"
    ):
        check_names(bad_loss_option)
    bad_data = load_config(write(tmp_path, RUNNABLE), ["data.val=nope", "loss.terms.mse=1"])
    with pytest.raises(ConfigError, match=r"^data.val: unknown dataset 'nope'"):
        check_names(bad_data)


def test_cli_config_show(plugin, tmp_path, capsys, monkeypatch):
    main = support.cli_main(monkeypatch)
    path = write(tmp_path, RUNNABLE)
    assert main(["config", "show", str(path), "--set", "optim.lr=0.002"]) == 0
    out = capsys.readouterr().out
    assert "[optim]" in out and "lr = 0.002" in out
    assert main(["config", "show", str(path), "--set", "optim.lrr=1"]) == 2
    err = capsys.readouterr().err
    assert "optim.lrr: unknown key; did you mean optim.lr?" in err


def test_one_set_grammar_and_one_reader_for_train_and_predict(plugin, tmp_path):
    """``matting train --set model.options.X=V`` and ``matting predict --set X=V`` read V the
    same way, and a TOML file's [model] options as the command line does."""
    from matting_core import get_model_info
    from matting_core.models import options_from_config_file, parse_overrides

    config_class = get_model_info(support.MODEL).config_class
    for text, value in (("12", 12), ("'12'", 12), ("group", "group")):
        key = "width" if isinstance(value, int) else "norm"
        cfg = load_config(write(tmp_path, RUNNABLE), [f"model.options.{key}={text}"])
        assert options_from_config_file(support.MODEL, cfg.model.options) == {key: value}
        assert parse_overrides(config_class, [f"{key}={text}"]) == {key: value}
    # a TOML file's option strings are text: "12" reads as the integer option's 12
    assert options_from_config_file(support.MODEL, {"width": "12"}) == {"width": 12}
    with pytest.raises(ConfigError, match=r"option width: expected an integer, got 'wide'$"):
        check_names(load_config(write(tmp_path, RUNNABLE), ["model.options.width=wide"]))
    with pytest.raises(ConfigError, match=r"has no option 'widht'; valid options: width, norm"):
        options_from_config_file(support.MODEL, {"widht": 1})
