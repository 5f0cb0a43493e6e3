"""`medsyn benchmark`'s flags are its config: the parser fills `BenchmarkConfig`, which the benchmark reads as it is
and records in results.json under the flags' own names."""

from __future__ import annotations

import pytest

from medsyn.commands.benchmark import parse, parser
from medsyn.errors import MedsynError
from medsyn.training.benchmark.config import BenchmarkConfig, SourceOptions

REQUIRED = ["--train", "train.jsonl", "--eval", "dev.jsonl", "--synthetic", "corpus", "--out", "results"]


def test_the_config_is_filled_from_the_flags(tmp_path):
    config = parse([*REQUIRED, "--text-column", "response", "--code-level", "4", "--ratios", "0.5,1", "2",
                    "--real-fractions", "0.1", "1", "--seeds", "2", "--classifier", "encoder", "--encoder",
                    str(tmp_path), "--epochs", "1"])
    assert isinstance(config, BenchmarkConfig) and isinstance(config.sources, SourceOptions)
    assert (config.sources.text_column, config.sources.code_level) == ("response", 4)
    assert config.design.ratio_values() == (0.5, 1.0, 2.0) and config.design.fraction_values() == (0.1, 1.0)
    assert config.model.settings() == {"model_path": str(tmp_path), "epochs": 1, "batch_size": 32,
                                       "learning_rate": 5e-5, "max_length": 256}
    # every flag is a field under its own name: results.json's `config` reruns the benchmark
    assert set(config.flat()) == set(parser().settings)


@pytest.mark.parametrize("flags, message", [
    (["--seeds", "0"], "need at least one seed"),
    (["--code-level", "0"], "--code-level 0"),
    (["--real-fractions", "1.5"], "outside (0, 1]"),
    (["--classifier", "encoder"], "needs --encoder PATH"),
])
def test_bad_settings_fail_when_read(flags, message):
    with pytest.raises(MedsynError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse([*REQUIRED, *flags])
