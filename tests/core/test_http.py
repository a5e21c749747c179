"""The client's address behind reverse proxies (issue 7): X-Forwarded-For is believed only from
the proxies in KABINET_TRUSTED_PROXIES, and only as far as they go."""

import ipaddress

import pytest
from django.test import RequestFactory

from kabinet.core.http import client_ip, forwarded_client

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # No proxy in front: the header is the client's own words.
        ("203.0.113.9", "185.71.76.5", "203.0.113.9"),
        # Through our proxy: the address it saw, appended on the right.
        ("10.0.0.2", "185.71.76.5", "185.71.76.5"),
        # A client's forged hop stays on the left, behind the address the proxy saw.
        ("10.0.0.2", "185.71.76.5, 203.0.113.7", "203.0.113.7"),
        # Two of our proxies in a row: the first untrusted address from the right.
        ("10.0.0.2", "198.51.100.4, 10.1.2.3", "198.51.100.4"),
        ("10.0.0.2", " 185.71.76.5 ,10.9.9.9 , ", "185.71.76.5"),
        # Only proxies: the leftmost they vouch for.
        ("10.0.0.2", "10.0.0.7", "10.0.0.7"),
        # Nothing forwarded: the proxy itself.
        ("10.0.0.2", "", "10.0.0.2"),
        # An unreadable hop ends the walk at the last address vouched for.
        ("10.0.0.2", "185.71.76.5, garbage", "10.0.0.2"),
        ("10.0.0.2", "garbage, 198.51.100.4", "198.51.100.4"),
        ("2001:db8::1", "2a02:5180::1", "2a02:5180::1"),
    ],
)
def test_forwarded_client(remote, forwarded, expected):
    assert forwarded_client(remote, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_header_is_ignored():
    assert forwarded_client("10.0.0.2", "185.71.76.5", ()) == "10.0.0.2"


def test_client_ip_reads_the_setting(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="185.71.76.5")
    settings.KABINET_TRUSTED_PROXIES = []
    assert client_ip(request) == "127.0.0.1"
    settings.KABINET_TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_ip(request) == "185.71.76.5"
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="")) == "0.0.0.0"  # noqa: S104
