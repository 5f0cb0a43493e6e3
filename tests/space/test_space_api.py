"""The Space through its public HTTP API (gradio_client), as a script or another program would use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.tiny_models import free_port

from medsyn.cli import main as medsyn_main

pytest.importorskip("gradio_client")



@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """(client, corpus dir) of the app with the template backend and a corpus built by `medsyn build`."""
    root = tmp_path_factory.mktemp("space")
    os.environ["HF_HOME"] = str(root / "hf")
    corpus = root / "corpus"
    assert medsyn_main(["build", "--out", str(corpus), "--n", "30", "--seed", "1"]) == 0
    from gradio_client import Client

    from medsyn.space.app import make_demo
    from medsyn.space.config import SpaceConfig, SpaceOptions

    demo = make_demo(SpaceConfig(options=SpaceOptions(dataset=str(corpus))))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(root / "downloads")), corpus
    finally:
        demo.close()


def test_every_public_endpoint_is_tested(app):
    client, _ = app
    endpoints = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert endpoints == {"/sample_prior", "/prompt", "/generate", "/search", "/browse"}


def test_search_by_russian_name_and_code(app):
    client, _ = app
    by_name = client.predict("дорсалг", api_name="/search")
    assert ["M54", "Дорсалгия"] in [list(row) for row in by_name]
    by_code = client.predict("J0", api_name="/search")
    assert by_code and all(code.startswith("J0") for code, _ in by_code)


def test_sample_prior_is_reproducible_and_seed_dependent(app):
    client, _ = app
    about, table, symptoms = client.predict("M54", 3, api_name="/sample_prior")
    assert "Дорсалгия" in about and "M54" in about
    labels = [row[0] for row in table["data"]]
    assert sorted(symptoms.splitlines()) == sorted(labels) and 3 <= len(labels) <= 6
    weights = [row[1] for row in table["data"]]
    assert all(0 <= w <= 1 for w in weights) and weights == sorted(weights, reverse=True)  # heaviest first
    assert client.predict("M54", 3, api_name="/sample_prior") == (about, table, symptoms)
    others = {client.predict("M54", seed, api_name="/sample_prior")[2] for seed in range(4, 9)}
    assert len(others | {symptoms}) > 1


def test_prompt_shows_the_edited_symptoms(app):
    client, _ = app
    prompt = client.predict("M54", 3, "боль в пояснице\nонемение ног", "symptoms", "short", api_name="/prompt")
    assert "[system]" in prompt and "[user]" in prompt
    assert "боль в пояснице, онемение ног" in prompt
    code_prompt = client.predict("M54", 3, "боль в пояснице", "code", "short", api_name="/prompt")
    assert "M54" in code_prompt and "Дорсалгия" in code_prompt


def test_generate_streams_a_russian_note_with_verdicts_and_download(app):
    from medsyn.builder.kg.graph import load_graph

    client, _ = app
    weights = {link.label: link.weight for link in load_graph().symptoms("M54")}
    linked, invented = "боль в шейном отделе позвоночника", "слабость в мизинце"
    assert linked in weights and invented not in weights
    symptoms = f"{linked}\n{invented}"
    job = client.submit("M54", 5, symptoms, "symptoms", "anamnesis", api_name="/generate")
    note, marked, verdict, scores, download = job.result()
    updates = [update[0] for update in job.outputs()]
    assert len(updates) > 3, "the note must arrive in several pieces"
    assert all(updates[i + 1].startswith(updates[i]) for i in range(len(updates) - 2))
    assert note == updates[-1] and "шейном отделе" in note
    assert scores["cyrillic_share"] > 0.9 and scores["n_words"] > 15
    assert scores["symptom_recall"] == 1.0 and set(scores["matched_symptoms"]) == {linked, invented}
    assert scores["generation"]["backend"] == "template"
    spans = [item["token"].lower() for item in marked if item["class_or_confidence"] == "symptom"]
    assert any("мизинце" in span for span in spans) and any("позвоночника" in span for span in spans)
    assert "".join(item["token"] for item in marked) == note
    assert "Verdict: kept" in verdict
    saved = json.loads(Path(download).read_text(encoding="utf-8"))
    assert saved["text"] == note and saved["icd10_code"] == "M54"
    assert saved["prior"]["symptoms"] == [
        {"label": linked, "weight": weights[linked]},  # a label linked to the code keeps its graph weight
        {"label": invented, "weight": 0.0},
    ]
    again = client.predict("M54", 5, symptoms, "symptoms", "anamnesis", api_name="/generate")
    assert again[0] == note


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Z99X", 1, "слабость", "symptoms", "short"), "unknown ICD-10 code 'Z99X'"),
        (("", 1, "слабость", "symptoms", "short"), "choose an ICD-10 code"),
        (("M54", 1, "  \n ", "symptoms", "short"), "symptom list is empty"),
        (("M54", 1, "боль" * 100, "symptoms", "short"), "too long"),
        (("M54", 1, "\n".join(f"симптом {i}" for i in range(30)), "symptoms", "short"), "too many symptoms"),
        (("M54", -1, "слабость", "symptoms", "short"), "less than minimum value 0"),
        (("M54", 1, "слабость", "example", "short"), "not in the list of choices"),
    ],
)
def test_bad_input_is_a_readable_message(app, args, message, capfd):
    from gradio_client.exceptions import AppError

    client, _ = app
    capfd.readouterr()
    with pytest.raises(AppError, match=message) as caught:
        client.predict(*args, api_name="/generate")
    assert "Traceback" not in str(caught.value)
    assert "Traceback" not in capfd.readouterr().err  # a visitor's mistake is one log line, not a traceback


def test_seed_that_is_not_a_number_is_a_readable_message(app, capfd):
    from gradio_client.exceptions import AppError

    client, _ = app
    capfd.readouterr()
    for endpoint, args in (("/sample_prior", ("M54", "abc")), ("/generate", ("M54", "abc", "боль", "code", "short"))):
        with pytest.raises(AppError, match="seed must be a whole number from 0 to"):
            client.predict(*args, api_name=endpoint)
    assert "Traceback" not in capfd.readouterr().err


def test_search_query_limit(app):
    from gradio_client.exceptions import AppError

    client, _ = app
    with pytest.raises(AppError, match="too long"):
        client.predict("а" * 500, api_name="/search")


def test_browse_filters_the_built_corpus(app):
    client, corpus = app
    from datasets import load_dataset

    rows = load_dataset(str(corpus), "unfiltered", split="train", cache_dir=tempfile.mkdtemp(prefix="medsyn-ds-"))
    everything = client.predict("all", "all", 0, api_name="/browse")["data"]
    assert len(everything) == len(rows)
    code = rows[0]["icd10_code"]
    by_code = client.predict(code, "all", 0, api_name="/browse")["data"]
    assert by_code and {row[1] for row in by_code} == {code}
    assert len(by_code) == sum(r == code for r in rows["icd10_code"])
    kept = client.predict("all", "kept", 0, api_name="/browse")["data"]
    assert len(kept) == sum(rows["keep"]) and {row[6] for row in kept} <= {"kept"}
    high = client.predict("all", "all", 0.99, api_name="/browse")["data"]
    assert all(row[4] >= 0.99 for row in high)
    assert len(high) == sum(r >= 0.99 for r in rows["symptom_recall"])


NO_NETWORK_SCRIPT = textwrap.dedent(
    """
    import ipaddress, json, os, socket, sys
    attempts = []

    def loopback(address):
        host = address[0] if isinstance(address, tuple) else address
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return host == "localhost"

    real_connect, real_connect_ex, real_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not loopback(address):
            attempts.append(repr(address))
            raise OSError("network disabled by the test")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not loopback(address):
            attempts.append(repr(address))
            return 101
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not loopback(str(host)):
            attempts.append(f"dns {host}")
            raise socket.gaierror("network disabled by the test")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo

    import medsyn.space.app as app_module
    demo = app_module.demo  # the module-level app the Space runtime uses: no configuration at all
    demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), prevent_thread_lock=True, quiet=True)
    # The client runs in its own process (with the Hub client's telemetry off): only the app's connections count.
    import subprocess
    ask = ("from gradio_client import Client; import json; c = Client('http://127.0.0.1:%s/', verbose=False); "
           "print(json.dumps(c.predict('J06', 2, 'кашель\\nнасморк', 'symptoms', 'short', api_name='/generate')[0]))")
    env = dict(os.environ, HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, "-c", ask % sys.argv[1]], env=env, capture_output=True, text=True)
    note = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else done.stderr[-2000:]
    demo.close()
    print(json.dumps({"attempts": attempts, "note": note, "analytics": os.environ["GRADIO_ANALYTICS_ENABLED"]}))
    """
)


def test_starts_and_answers_without_any_outbound_connection(tmp_path):
    """No configuration, every non-loopback connection or DNS lookup refused and recorded: none may happen."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDSYN_", "GRADIO_", "HF_HUB_DISABLE"))}
    env.update(HF_HOME=str(tmp_path / "hf"), HOME=str(tmp_path))
    script = tmp_path / "no_network.py"
    script.write_text(NO_NETWORK_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(free_port())], env=env, capture_output=True, text=True, timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    assert report["analytics"] == "False"
    assert "кашель" in report["note"].lower()


def test_settings_come_from_yaml_then_environment(tmp_path):
    from medsyn.errors import MedsynError
    from medsyn.space.config import SpaceConfig, load_config

    assert load_config(environ={}) == SpaceConfig()
    path = tmp_path / "space.yaml"
    path.write_text("max_new_tokens: 64\nconcurrency: 3\n")
    config = load_config(path, environ={"MEDSYN_MAX_NEW_TOKENS": "32"})
    assert (config.generation.max_new_tokens, config.generation.concurrency) == (32, 3)
    path.write_text("bogus: 1\n")
    with pytest.raises(MedsynError, match="unknown key 'bogus'"):
        load_config(path, environ={})
    with pytest.raises(MedsynError, match="needs a base URL"):
        load_config(environ={"MEDSYN_BACKEND": "openai", "MEDSYN_MODEL": "m"})
    with pytest.raises(MedsynError, match=r"--concurrency: invalid int value: 'many' \(set in environment\)"):
        load_config(environ={"MEDSYN_CONCURRENCY": "many"})
    assert medsyn_main(["space", "--port", "0"]) == 2
