"""Which addresses an endpoint may have: http(s) with a host, and (unless allowed) only public IPs.

A webhook URL is an address the house will POST to, so a member could point it at the house's own
network (server-side request forgery). Literal IPs and every address a hostname resolves to are
checked at registration, and again before every delivery (a name may be re-pointed after it was
registered); ``CLEARING_WEBHOOKS__ALLOW_PRIVATE=true`` lifts the rule (tests, local receivers).

>>> refused(ipaddress.ip_address("10.1.2.3")), refused(ipaddress.ip_address("93.184.216.34"))
(True, False)
>>> refused(ipaddress.ip_address("::ffff:127.0.0.1"))
True
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from clearing.errors import EndpointRefused

Resolver = Callable[[str, int], list[str]]
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver)."""
    infos: list[Any] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def refused(ip: IpAddress) -> bool:
    """Private, loopback, link-local, multicast, reserved, unspecified, or otherwise not global."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_url(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> str:
    """``url`` if the house may POST to it; else :class:`~clearing.errors.EndpointRefused` naming ``url``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointRefused(f"url is not a valid URL: {exc}", field="url") from None
    if parts.scheme not in ("http", "https"):
        raise EndpointRefused("url must be an http:// or https:// URL", field="url")
    host = parts.hostname
    if not host:
        raise EndpointRefused("url must name a host", field="url")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("url must not carry credentials", field="url")
    if allow_private:
        return url
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolver(host, port or 443)]
        except (OSError, UnicodeError) as exc:
            raise EndpointRefused(f"url's host {host!r} does not resolve: {exc}", field="url") from None
    bad = sorted({str(a) for a in addresses if refused(a)})
    if bad or not addresses:
        raise EndpointRefused(
            f"url's host {host!r} is in a private, loopback, link-local, multicast or reserved range "
            f"({', '.join(bad) or 'no address'}); endpoints must be public",
            field="url",
        )
    return url
