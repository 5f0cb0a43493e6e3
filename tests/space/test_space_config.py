"""The Space's settings: the build's generation group (`GenerationOptions`), read the way `medsyn build` reads it,
with the Space's own defaults and limits."""

from __future__ import annotations

import pytest

from medsyn.builder.corpus.config import GROUPS, BuildConfig
from medsyn.builder.generate.backends import GenerationOptions
from medsyn.config import ConfigParser
from medsyn.errors import MedsynError
from medsyn.space.config import SpaceConfig, load_config, space_settings

URL = "http://10.0.0.5:8000/v1"


@pytest.mark.parametrize("written", [URL, f"[{URL}]"], ids=["string", "list"])
def test_base_url_is_read_as_the_build_reads_it(tmp_path, written):
    config = tmp_path / "settings.yaml"
    config.write_text(f"backend: openai\nmodel: m\nbase_url: {written}\n", encoding="utf-8")
    space = load_config(config, environ={})
    groups = ConfigParser(list(GROUPS.values()), prog="medsyn build").parse(["--out", "corpus"], config=config)
    build = BuildConfig(**dict(zip(GROUPS, groups)))
    assert isinstance(space.generation, GenerationOptions)
    assert space.generation.base_url == build.generation.base_url == [URL]
    assert space_settings(space)["base_url"] == URL  # settings.yaml and MEDSYN_BASE_URL spell one URL


def test_the_space_takes_part_of_the_group_with_its_own_defaults(tmp_path):
    assert SpaceConfig().generation == GenerationOptions(concurrency=2)  # the rest: the build's own defaults
    assert load_config(environ={"MEDSYN_CONCURRENCY": "5"}).generation.concurrency == 5
    config = tmp_path / "space.yaml"
    config.write_text("batch_size: 4\n", encoding="utf-8")  # a build setting that streaming does not use
    with pytest.raises(MedsynError, match="unknown key 'batch_size'"):
        load_config(config, environ={})


def test_the_space_streams_from_one_server_and_keeps_its_limits():
    with pytest.raises(MedsynError, match="streams from one server, got 2") as raised:
        load_config(environ={"MEDSYN_BACKEND": "openai", "MEDSYN_MODEL": "m",
                             "MEDSYN_BASE_URL": f"{URL} http://10.0.0.6:8000/v1", "MEDSYN_MAX_NEW_TOKENS": "9999"})
    assert "max_new_tokens must be in 1..4096" in str(raised.value)  # every problem in the one line
    with pytest.raises(MedsynError, match=r"needs a model \(MEDSYN_MODEL"):
        load_config(environ={"MEDSYN_BACKEND": "openai", "MEDSYN_BASE_URL": URL})
