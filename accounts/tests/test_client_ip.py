"""The client address (config.http.net.client_ip): X-Forwarded-For counts only when a trusted proxy sent it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from config.http.net import _trusted_networks, client_ip

factory = RequestFactory()


def _ip(remote: str, forwarded: str | None = None) -> str:
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(factory.get("/", **extra))


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.1", "192.168.0.0/16"]


def test_it_is_the_remote_address_without_a_proxy() -> None:
    assert _ip("203.0.113.7") == "203.0.113.7"


def test_it_ignores_x_forwarded_for_when_no_proxy_is_trusted(settings: Any) -> None:
    settings.TRUSTED_PROXIES = []
    assert _ip("203.0.113.7", "198.51.100.1") == "203.0.113.7"


def test_it_ignores_x_forwarded_for_from_an_untrusted_client(behind_proxy: None) -> None:
    # A client talking to us directly cannot pick its address by writing the header itself.
    assert _ip("203.0.113.7", "198.51.100.1") == "203.0.113.7"
    assert _ip("203.0.113.7", "10.0.0.1, 198.51.100.1") == "203.0.113.7"


def test_it_takes_the_client_a_trusted_proxy_names(behind_proxy: None) -> None:
    assert _ip("10.0.0.1", "198.51.100.1") == "198.51.100.1"


def test_it_takes_the_right_most_untrusted_hop_so_a_forged_one_does_not_count(behind_proxy: None) -> None:
    # The client sent "X-Forwarded-For: 1.1.1.1"; our proxy appended the address it really came from.
    assert _ip("10.0.0.1", "1.1.1.1, 198.51.100.1") == "198.51.100.1"


def test_it_skips_every_trusted_proxy_in_a_chain(behind_proxy: None) -> None:
    assert _ip("10.0.0.1", "1.1.1.1, 198.51.100.1, 192.168.3.4") == "198.51.100.1"


def test_it_reads_trusted_networks_in_cidr_notation(behind_proxy: None) -> None:
    assert _ip("192.168.77.5", "198.51.100.9") == "198.51.100.9"


def test_it_falls_back_to_the_proxy_when_the_header_is_missing(behind_proxy: None) -> None:
    assert _ip("10.0.0.1") == "10.0.0.1"
    assert _ip("10.0.0.1", "") == "10.0.0.1"


def test_it_takes_the_left_most_hop_when_every_hop_is_trusted(behind_proxy: None) -> None:
    assert _ip("10.0.0.1", "192.168.1.1, 192.168.1.2") == "192.168.1.1"


def test_it_strips_ports_and_brackets_that_proxies_add(behind_proxy: None) -> None:
    assert _ip("10.0.0.1", "198.51.100.1:51234") == "198.51.100.1"
    assert _ip("10.0.0.1", "[2001:db8::1]:443") == "2001:db8::1"
    assert _ip("10.0.0.1", "2001:db8::2") == "2001:db8::2"


def test_it_does_not_take_garbage_for_an_address(behind_proxy: None) -> None:
    assert _ip("10.0.0.1", "not-an-address") == "10.0.0.1"
    assert _ip("203.0.113.7", "not-an-address") == "203.0.113.7"


def test_it_reads_an_ipv4_mapped_address_as_ipv4(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    assert _ip("::ffff:10.0.0.1", "198.51.100.1") == "198.51.100.1"
    assert _ip("::ffff:203.0.113.7") == "203.0.113.7"


def test_it_is_worked_out_once_per_request(behind_proxy: None) -> None:
    request = factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_ip(request) == "198.51.100.1"
    request.META["HTTP_X_FORWARDED_FOR"] = "198.51.100.2"
    assert client_ip(request) == "198.51.100.1"


def test_a_bad_trusted_proxy_setting_is_a_configuration_error() -> None:
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        _trusted_networks(("not-a-network",))
