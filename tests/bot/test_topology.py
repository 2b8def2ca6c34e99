"""Choosing the topology by configuration: the default stays embedded, the scaled one names what it lacks."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from bot.topology import TopologyError, endpoints_env, endpoints_file, write_nginx_conf

SCALE = {"HUIQI_ENDPOINTS": "deploy/endpoints.scale.yml"}


def test_without_huiqi_endpoints_rasa_reads_the_embedded_endpoints_and_needs_nothing_more():
    path = endpoints_file({})
    assert path == PROJECT_ROOT / "endpoints.yml"
    assert endpoints_env(path, {}) == {}
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert config["tracker_store"]["dialect"] == "sqlite" and "lock_store" not in config and "event_broker" not in config


def test_the_scaled_endpoints_use_postgresql_redis_and_rabbitmq():
    config = yaml.safe_load(endpoints_file(SCALE).read_text(encoding="utf-8"))
    assert (config["tracker_store"]["type"], config["tracker_store"]["dialect"]) == ("SQL", "postgresql")
    assert config["lock_store"]["type"] == "redis"
    assert config["event_broker"]["type"] == "pika"


def test_the_scaled_topology_names_the_secrets_it_lacks_and_defaults_the_rest():
    with pytest.raises(TopologyError) as error:
        endpoints_env(endpoints_file(SCALE), SCALE)
    assert str(error.value).endswith("HUIQI_RABBITMQ_PASSWORD, HUIQI_RABBITMQ_USER, "
                                     "HUIQI_TRACKER_PG_PASSWORD, HUIQI_TRACKER_PG_USER")
    given = {**SCALE, "HUIQI_RABBITMQ_USER": "u", "HUIQI_RABBITMQ_PASSWORD": "secret-value",
             "HUIQI_TRACKER_PG_USER": "u", "HUIQI_TRACKER_PG_PASSWORD": "", "HUIQI_REDIS_PORT": "6380"}
    filled = endpoints_env(endpoints_file(SCALE), given)
    assert filled["HUIQI_TRACKER_PG_HOST"] == "127.0.0.1" and "HUIQI_REDIS_PORT" not in filled
    assert "secret-value" not in filled.values()


def test_an_endpoints_file_that_does_not_exist_is_named():
    with pytest.raises(TopologyError, match="no such endpoints file: .*nowhere.yml"):
        endpoints_file({"HUIQI_ENDPOINTS": "deploy/nowhere.yml"})


def test_the_rendered_nginx_configuration_is_accepted_by_nginx(tmp_path):
    conf = write_nginx_conf(tmp_path, listen="127.0.0.1:18080", actions_listen="127.0.0.1:18081",
                            rasa_servers=["127.0.0.1:5005", "127.0.0.1:5006"],
                            action_servers=["127.0.0.1:5055", "127.0.0.1:5056"])
    text = conf.read_text(encoding="utf-8")
    assert "${HUIQI" not in text and "hash $huiqi_route_key consistent;" in text
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"  # installed by `make test` (make nginx)
    done = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
