"""deploy/: the compose file and the systemd units run the same commands (the ones
tests/integration/test_topology.py starts), and the env file example names every setting
a process of the topology needs."""

from __future__ import annotations

from tests import deploy_files as deploy


def test_compose_and_systemd_run_the_same_commands():
    for role, services in deploy.SERVICES.items():
        unit = deploy.pictorium_args(deploy.systemd_command(role, "8000"))
        for service in services:
            assert deploy.pictorium_args(deploy.compose_command(service)) == unit, service
    assert deploy.pictorium_args(deploy.systemd_command("web")) == ["web"]
    assert deploy.pictorium_args(deploy.systemd_command("worker")) == ["worker"]


def test_every_unit_reads_the_env_file_and_restarts():
    for role in deploy.UNITS:
        lines = deploy.unit_lines(role)
        assert lines["EnvironmentFile"] == ["/etc/pictorium/pictorium.env"], role
        if role != "migrate":
            assert lines["Restart"] == ["always"], role
    # `pictorium worker` passes SIGTERM on to its work-horse: systemd must not send it too.
    assert deploy.unit_lines("worker")["KillMode"] == ["mixed"]


def test_each_web_listens_on_its_own_port():
    assert deploy.systemd_environment("web", "8001") == {"PORT": "8001"}
    services = deploy.compose()["services"]
    ports = {services[name]["environment"]["PORT"] for name in deploy.SERVICES["web"]}
    assert ports == {"8000", "8001"}
    for name in deploy.SERVICES["web"]:
        assert services[name]["environment"]["HOST"] == "0.0.0.0"


def test_the_env_example_names_what_every_process_shares():
    shared = {
        "DATABASE_URL",
        "REDIS_URL",
        "CENTRAL_STORAGE_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "SECRET_KEY",
        "BASE_URL",
    }
    assert shared <= deploy.env_example_names()
    services = deploy.compose()["services"]
    for role, names in deploy.SERVICES.items():
        for name in names:
            assert services[name]["env_file"] == "pictorium.env", (role, name)
