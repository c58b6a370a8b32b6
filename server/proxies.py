"""Client addresses: X-Forwarded-For believed only when the connection comes from a trusted proxy.

With `[server] proxy_hops` > 0 the app takes the client's address (rate limits, logs) from X-Forwarded-For,
but only on connections from one of `trusted_proxies` (default loopback, where deploy/nginx.conf runs): a
client reaching the server's port directly cannot choose its own address by sending the header.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix


def address_of(peer: Any) -> str:
    """The client's IP address as text (an IPv4-mapped IPv6 address as IPv4); a peer tuple or a string."""
    host = peer[0] if isinstance(peer, tuple) else str(peer)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return str(host)
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def behind_proxies(wsgi_app: Any, hops: int, trusted: tuple[str, ...]) -> Any:
    """`wsgi_app` seeing the forwarded client address on requests from a trusted proxy, the peer's otherwise."""
    fixed = ProxyFix(wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    known = frozenset(trusted)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if address_of(environ.get("REMOTE_ADDR", "")) in known:
            return fixed(environ, start_response)
        return wsgi_app(environ, start_response)

    return app
