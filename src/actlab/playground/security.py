"""Who may talk to the playground: the ``Origin``/``Host`` checks and the launch token.

The same defences as Jupyter's server (``check_origin``, ``check_host``, the token), written
as plain functions of a request's headers so that they are tested without a web library:

* **DNS rebinding.** A page of ``evil.example`` whose name is made to resolve to 127.0.0.1
  reaches the server, but its browser still sends ``Host: evil.example:PORT``. A server bound
  to a loopback address answers only a ``Host`` that names the loopback (``localhost``,
  ``127.0.0.1`` or any 127/8 address, ``[::1]``) on the port it serves.
* **Cross-site requests and websocket hijacking.** Any page the user visits may open
  ``ws://127.0.0.1:PORT/ws`` or ``fetch`` the server; its browser says where the page comes
  from in ``Origin``. A request with an ``Origin`` is answered only when that origin is the
  server's own (``http://`` or ``https://`` and one of the accepted hosts; with a
  non-loopback bind: the request's own ``Host``). A request without ``Origin`` (a top-level
  navigation, ``curl``) passes, as in Jupyter.
* **Beyond loopback** (``--host 0.0.0.0`` or a LAN address) the names the server is reached by
  are not known, so the ``Host`` check is off (Jupyter's ``allow_remote_access``) and every
  request needs the per-launch token instead: ``?token=...`` in the URL (which also sets a
  cookie), that cookie, or an ``Authorization: token ...`` header.

Nothing here imports a web library.
"""
from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
from urllib.parse import parse_qs, urlsplit

LOOPBACK_NAMES = ("localhost",)
TOKEN_QUERY = "token"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is the loopback."""
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, int | None] | None:
    """``"127.0.0.1:8000"`` -> ``("127.0.0.1", 8000)``; ``"[::1]:80"`` -> ``("::1", 80)``;
    ``None`` for a value that is not a host (and port)."""
    value = value.strip().lower()
    if not value:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
        if rest and not rest.startswith(":"):
            return None
        port_s = rest[1:] if rest else None
    else:
        name, sep, port_s = value.rpartition(":")
        if not sep or ":" in name:          # no port, or a bare IPv6 address (which has none)
            name, port_s = value, None
    if port_s is None or port_s == "":
        return (name, None) if port_s is None else None
    if not port_s.isdigit() or not 0 < int(port_s) < 65536:
        return None
    return name, int(port_s)


def host_problem(host_header: str | None, port: int | None, scheme: str = "http") -> str | None:
    """Why a loopback server refuses this ``Host`` header (``None``: it is one of its names)."""
    if not host_header:
        return "no Host header"
    parsed = split_host(host_header)
    if parsed is None:
        return f"Host {host_header!r} is not a host name"
    name, got = parsed
    if got is None:
        got = 443 if scheme in ("https", "wss") else 80
    if not is_loopback(name):
        return (f"Host {host_header!r} is not a loopback name (this server answers localhost, "
                f"127.0.0.1 and [::1] only: a DNS rebinding attempt?)")
    if port is not None and got != port:
        return f"Host {host_header!r} names port {got}, this server listens on {port}"
    return None


def origin_problem(origin: str | None, host_header: str | None, port: int | None,
                   loopback: bool) -> str | None:
    """Why this ``Origin`` is not the server's own (``None``: no Origin, or our own)."""
    if origin is None:
        return None
    parts = urlsplit(origin.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"Origin {origin!r} is not this server (cross-site request refused)"
    if loopback:
        if host_problem(parts.netloc, port, parts.scheme) is None:
            return None
    elif host_header and parts.netloc == host_header.strip().lower():
        return None
    return f"Origin {origin!r} is not this server (cross-site request refused)"


def new_token() -> str:
    """A per-launch secret for non-loopback binds (as Jupyter's, 48 hex digits)."""
    return secrets.token_hex(24)


def cookie_name(port: int | None) -> str:
    """The token cookie: one per port, so two servers on one machine keep their own."""
    return f"actlab-playground-{port or 0}"


def request_token(query_string: bytes | str, cookies: dict[str, str], authorization: str | None,
                  port: int | None) -> tuple[str | None, str | None]:
    """The token a request carries and where from: ``("...", "query" | "cookie" | "header")``."""
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    values = parse_qs(query_string).get(TOKEN_QUERY)
    if values:
        return values[0], "query"
    if authorization and authorization.lower().startswith("token "):
        return authorization[6:].strip(), "header"
    value = cookies.get(cookie_name(port))
    if value:
        return value, "cookie"
    return None, None


def token_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def check(*, host_header: str | None, origin: str | None, port: int | None, loopback: bool,
          scheme: str = "http") -> str | None:
    """The reason a request is refused with 403, or ``None``."""
    if loopback:
        problem = host_problem(host_header, port, scheme)
        if problem:
            return problem
    return origin_problem(origin, host_header, port, loopback)


def urls(host: str, port: int, token: str | None = None) -> list[str]:
    """The URL(s) to open for a server bound to ``host``: for 0.0.0.0 / :: the machine's names
    and addresses (found without sending anything) and the loopback."""
    query = f"?{TOKEN_QUERY}={token}" if token else ""
    names: list[str] = []
    if host in ("0.0.0.0", "::", ""):
        try:
            names.append(socket.gethostname())
        except OSError:
            pass
        names += _addresses(ipv6=(host == "::"))
        names.append("127.0.0.1")
    else:
        names.append(host)
    out = []
    for name in names:
        if ":" in name:
            name = f"[{name}]"
        url = f"http://{name}:{port}/{query}"
        if url not in out:
            out.append(url)
    return out


def _addresses(ipv6: bool) -> list[str]:
    found: list[str] = []
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        infos = []
    for family, *_, addr in infos:
        if family == socket.AF_INET or (ipv6 and family == socket.AF_INET6):
            found.append(addr[0])
    try:   # the address of the default route: a UDP "connect" sends no packet
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            found.append(s.getsockname()[0])
    except OSError:
        pass
    return [a for i, a in enumerate(found) if a not in found[:i] and not is_loopback(a)]
