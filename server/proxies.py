"""The client address behind trusted reverse proxies (``TRUSTED_PROXIES``, issue 14).

Rate limits (server/admission.py, the login window) and the audit trail's client address
read ``REMOTE_ADDR``.  Behind nginx that is the proxy for everybody.  When the setting
``TRUSTED_PROXIES`` names the proxies (addresses or CIDRs), :class:`TrustedProxies`
rewrites ``REMOTE_ADDR`` before the app sees the request: only when the peer is trusted,
the client is the right-most hop of ``X-Forwarded-For`` that is not itself a trusted proxy
(each proxy appends the address it received from; whatever a client wrote to the left is
not believed).  From an untrusted peer the header is ignored.  The peer's own address is
kept in ``environ["planmap.peer_addr"]``.
"""

from __future__ import annotations

import ipaddress

PEER_KEY = "planmap.peer_addr"


def parse_trusted(raw: str) -> tuple:
    """The networks of ``TRUSTED_PROXIES`` (comma-separated addresses/CIDRs).

    Raises
    ------
    ValueError
        An entry is neither an address nor a network.
    """
    nets = []
    for part in str(raw or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"PLANMAP_TRUSTED_PROXIES: {part!r} is not an IP address or "
                             "CIDR network") from None
    return tuple(nets)


def _address(text: str):
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(addr, nets) -> bool:
    if addr is None:
        return False
    if getattr(addr, "ipv4_mapped", None) is not None:
        addr = addr.ipv4_mapped
    return any(addr.version == n.version and addr in n for n in nets)


def client_address(peer: str, forwarded_for: str | None, nets) -> str:
    """The client's address for a request from ``peer`` carrying ``X-Forwarded-For``.

    Parameters
    ----------
    peer : str
        ``REMOTE_ADDR``.
    forwarded_for : str or None
        The ``X-Forwarded-For`` header(s), comma-joined.
    nets : tuple of ip_network
        The trusted proxies.

    Returns
    -------
    str
        ``peer`` unless it is trusted; else the right-most hop that is not trusted (the
        left-most hop when all are; the hop right of a malformed entry).
    """
    if not nets or not forwarded_for or not _trusted(_address(peer), nets):
        return peer
    chosen = peer
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        addr = _address(hop)
        if addr is None:  # garbage: do not believe anything further left
            return chosen
        chosen = str(addr)
        if not _trusted(addr, nets):
            return chosen
    return chosen


class TrustedProxies:
    """WSGI middleware: ``REMOTE_ADDR`` = :func:`client_address` of the request."""

    def __init__(self, wsgi_app, nets):
        self.wsgi_app, self.nets = wsgi_app, tuple(nets)

    def __call__(self, environ, start_response):
        peer = environ.get("REMOTE_ADDR") or ""
        environ[PEER_KEY] = peer
        client = client_address(peer, environ.get("HTTP_X_FORWARDED_FOR"), self.nets)
        if client != peer:
            environ["REMOTE_ADDR"] = client
        return self.wsgi_app(environ, start_response)


def register(app) -> None:
    """Wrap ``app.wsgi_app`` when ``TRUSTED_PROXIES`` names any proxy."""
    nets = parse_trusted(app.config.get("TRUSTED_PROXIES", ""))
    if nets:
        app.wsgi_app = TrustedProxies(app.wsgi_app, nets)
