"""Deployment files agree with the README and keep the settings a school server needs."""

from __future__ import annotations

import json
import re
import shlex
import tomllib

from tests.live_server import ROOT


def readme_start_command() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Deploying for a whole school"):]
    command = re.search(r"`(streamlit run streamlit_app\.py[^`]*)`", section)
    assert command, "the deployment section names the command that starts a replica"
    return shlex.split(command.group(1))


def dockerfile_command() -> list[str]:
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    cmd = [line for line in lines if line.startswith("CMD ")]
    assert len(cmd) == 1
    return json.loads(cmd[0][4:])


def test_the_dockerfile_starts_the_app_with_the_readmes_command():
    assert dockerfile_command() == readme_start_command()


def test_the_dockerfile_probes_the_health_endpoint_the_readme_documents():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "/_stcore/health" in dockerfile and "/_stcore/health" in readme
    assert "EXPOSE 8501" in dockerfile


def test_server_settings_for_a_classroom():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["enableXsrfProtection"] is True
    assert 1 <= config["server"]["maxUploadSize"] <= 50  # MB: digits and checkpoints are far smaller
    assert config["server"]["fileWatcherType"] == "none"
    assert config["browser"]["gatherUsageStats"] is False
    assert config["runner"]["postScriptGC"] is False
