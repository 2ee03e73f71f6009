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


# --- a school on many machines: the files in deploy/ name what the code uses ---------------------------------


def deploy_yaml(name: str) -> list[dict]:
    import yaml

    return [doc for doc in yaml.safe_load_all((ROOT / "deploy" / name).read_text(encoding="utf-8")) if doc]


def test_compose_and_kubernetes_start_the_app_with_the_same_command_port_and_health_check():
    from explainer.serve import HEALTH

    compose = deploy_yaml("compose.yaml")[0]["services"]
    kube = {doc["kind"]: doc for doc in deploy_yaml("kubernetes.yaml")}
    container = kube["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert compose["app"]["command"] == container["command"] == dockerfile_command() == readme_start_command()
    port = int(dockerfile_command()[dockerfile_command().index("--server.port") + 1])
    assert container["ports"][0]["containerPort"] == port == kube["Service"]["spec"]["ports"][0]["targetPort"]
    assert container["readinessProbe"]["httpGet"] == {"path": HEALTH, "port": port}
    assert f"127.0.0.1:{port}{HEALTH}" in " ".join(compose["app"]["healthcheck"]["test"])
    assert kube["Service"]["spec"]["sessionAffinity"] == "ClientIP"  # one browser, one pod
    assert "server app:%d" % port in (ROOT / "deploy" / "nginx-compose.conf").read_text()


def test_the_deploy_files_set_only_variables_the_code_reads():
    code = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "explainer").rglob("*.py"))
    compose_env = deploy_yaml("compose.yaml")[0]["services"]["app"]["environment"]
    kube_env = [e["name"] for e in {d["kind"]: d for d in deploy_yaml("kubernetes.yaml")}["Deployment"]["spec"]["template"]["spec"]
                ["containers"][0]["env"]]
    for name in set(compose_env) | set(kube_env):
        if name.startswith("STREAMLIT_"):
            assert name == "STREAMLIT_SERVER_COOKIE_SECRET"  # Streamlit's own setting: server.cookieSecret
            continue
        assert f'"{name}"' in code, f"{name} is set for the app but the code never reads it"
    assert {"EXPLAINER_DATABASE_URL", "STREAMLIT_SERVER_COOKIE_SECRET"} <= set(compose_env) & set(kube_env)


def test_both_nginx_configurations_proxy_the_same_way_and_stick_on_streamlits_cookie():
    from streamlit.web.server.starlette.starlette_server_config import XSRF_COOKIE_NAME

    from explainer.serve import nginx_config

    def location(text: str) -> list[str]:
        block = text[text.index("location / {"):]
        return [line.split("#")[0].strip() for line in block[: block.index("}")].splitlines() if line.split("#")[0].strip()]

    written = nginx_config(8501, [8502, 8503], ROOT / "x")
    compose = (ROOT / "deploy" / "nginx-compose.conf").read_text(encoding="utf-8")
    assert location(written) == location(compose)
    for text in (written, compose):
        assert f"hash $cookie_{XSRF_COOKIE_NAME} consistent;" in text
        assert "map $http_upgrade $connection_upgrade" in text
    assert "server 127.0.0.1:8502" in written and "server 127.0.0.1:8503" in written and "listen 0.0.0.0:8501;" in written
