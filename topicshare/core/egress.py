"""Where the forum may send HTTP requests of its own: the address policy of chat webhooks.

Organisers type webhook addresses. Unchecked, the sender would post wherever one points — the
machine itself (Redis on 127.0.0.1:6379), the cloud's metadata service (169.254.169.254), the
office network — and the error it records would map what answers there. So:

* **At save time** (`ChatWebhook.clean`, hence the admin form) `webhook_address_check` wants
  http(s), no user name or password, a known provider's address on one of that provider's own
  hosts over https (PROVIDER_HOSTS), and any other host resolving to public addresses only.
* **At send time** `webhook_address_check` runs again without the lookup, and the request goes
  through `guarded_session()`, whose connections look the host up *once*, refuse the host if
  any of its addresses is not public, and connect the socket to one of exactly those checked
  addresses (then compare the socket's peer address with it). A name that answers differently
  by then (DNS rebinding) gains nothing: no second lookup happens. TLS still verifies the
  certificate for the host name (SNI), and the Host header carries the name, so nothing else
  about the request changes. Proxies from the environment are ignored (a proxy would connect
  on our behalf, after every check) and redirects are not followed.

"Public" means `ipaddress`'s `is_global`, minus multicast, and with the IPv4 address inside
IPv4-mapped, IPv4-compatible, 6to4 and NAT64 IPv6 addresses checked too. IPv4 hosts in other
spellings (2130706433, 0x7f.1, 0177.0.0.1, 127.1, a trailing dot) are read the way the
system's resolver reads them, so they are checked as the address they stand for.

Settings: `TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE` turns the address-class check off (the test
suite's chat server listens on 127.0.0.1; production settings force it off).
`TOPICSHARE_WEBHOOKS_ALLOWED_HOSTS` names further hosts every provider may post to besides its
own (a test server, a self-hosted Lark); their addresses are still checked.
"""

import ipaddress
import re
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

# The hosts each provider's bots live on (ChatWebhook.Provider values). A generic webhook may
# post to any public host.
PROVIDER_HOSTS: dict[str, frozenset[str]] = {
    "feishu": frozenset({"open.feishu.cn", "open.larksuite.com"}),
    "wecom": frozenset({"qyapi.weixin.qq.com"}),
    "dingtalk": frozenset({"oapi.dingtalk.com"}),
}
DEFAULT_PORTS = {"http": 80, "https": 443}

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# What the resolver reads as an IPv4 address (inet_aton): the last label is a number.
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The forum will not post to this address. The message is for organisers; it never names
    the addresses a host resolved to. `permanent` is False only when the name did not resolve
    (DNS may come back)."""

    def __init__(self, message: str, *, permanent: bool = True):
        super().__init__(message)
        self.permanent = permanent


def _not_public() -> AddressRefused:
    return AddressRefused(
        gettext(
            "The webhook address is not a public internet address; the forum posts only to "
            "public hosts."
        )
    )


def _unresolved() -> AddressRefused:
    return AddressRefused(
        gettext("The webhook's host name could not be resolved."), permanent=False
    )


def host_normalised(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _allowed_hosts() -> set[str]:
    return {host_normalised(h) for h in settings.TOPICSHARE_WEBHOOKS_ALLOWED_HOSTS}


def is_public(address: IPAddress) -> bool:
    """Whether `address` is on the public internet (see the module's docstring)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and int(address) >> 32 == 0:
            return False  # IPv4-compatible (::a.b.c.d), deprecated, and :: itself
        if address.teredo or (embedded is not None and not is_public(embedded)):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not address.is_multicast


def _literal_address(host: str) -> IPAddress | None:
    """`host` as an IP address if it is one in any spelling the resolver accepts, else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    host = host.rstrip(".")
    if not _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        raise _not_public() from None  # a number that is no address: nothing to post to


def resolve_checked(host: str, port: int) -> list[tuple[int, IPAddress]]:
    """Look `host` up once and return its (family, address) pairs, or raise AddressRefused if
    any of them is not public (unless TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE)."""
    literal = _literal_address(host)
    if literal is not None:
        found = [(socket.AF_INET6 if literal.version == 6 else socket.AF_INET, literal)]
    else:
        try:
            infos = socket.getaddrinfo(host_normalised(host), port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise _unresolved() from None
        found = []
        for family, _type, _proto, _name, sockaddr in infos:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if family in (socket.AF_INET, socket.AF_INET6) and (family, address) not in found:
                found.append((family, address))
        if not found:
            raise _unresolved()
    if not settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE and not all(
        is_public(address) for _family, address in found
    ):
        raise _not_public()
    return found


def webhook_address_check(*, url: str, provider: str, resolve: bool = True) -> str:
    """Raise AddressRefused unless the forum may post to `url` as a `provider` bot; return
    the host (normalised). With `resolve`, a host that is not a provider's own is looked up
    and must resolve to public addresses only (the send-time check happens at connect)."""
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F or c == "\\" for c in url):
        raise AddressRefused(
            gettext(
                "The webhook address may contain only printable ASCII characters without "
                "spaces or backslashes (write an international domain name in its xn-- form)."
            )
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise AddressRefused(gettext("The webhook address must start with http:// or https://."))
    if "@" in parts.netloc:
        raise AddressRefused(
            gettext("The webhook address must not contain a user name or password.")
        )
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise AddressRefused(gettext("The webhook address has an invalid port.")) from None
    host = host_normalised(parts.hostname)
    own_hosts = PROVIDER_HOSTS.get(provider)
    if own_hosts is not None and host in own_hosts:
        if scheme != "https" or port != 443:
            raise AddressRefused(
                gettext("This provider's webhook address must start with https:// (no port).")
            )
        return host  # the provider's public service: looked up and checked at connect
    if own_hosts is not None and host not in _allowed_hosts():
        raise AddressRefused(
            gettext("This provider's webhook address must be on %(hosts)s.")
            % {"hosts": ", ".join(sorted(own_hosts))}
        )
    if resolve:
        resolve_checked(host, port)
    return host


# --- Sending through checked connections ------------------------------------------------------


class _CheckedConnectionMixin:
    """An urllib3 connection whose socket goes only to an address `resolve_checked` returned
    for the host it was told to expect."""

    expected_host: str = ""

    def _new_conn(self) -> socket.socket:
        host = host_normalised(self._dns_host)
        if host != self.expected_host:
            raise _not_public()
        errors: list[OSError] = []
        for _family, address in resolve_checked(host, self.port):
            try:
                sock = urllib3_connection.create_connection(
                    (str(address), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as error:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from error
            except OSError as error:
                errors.append(error)
                continue
            peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%", 1)[0])
            if peer != address:
                sock.close()
                raise _not_public()
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {errors[-1]}")


class _CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class _CheckedAdapter(HTTPAdapter):
    def __init__(self, expected_host: str):
        attributes = {"expected_host": expected_host}
        http = type("CheckedHTTPConnection", (_CheckedHTTPConnection,), attributes)
        https = type("CheckedHTTPSConnection", (_CheckedHTTPSConnection,), attributes)
        self._pool_classes = {
            "http": type("CheckedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("CheckedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes


def guarded_session(*, host: str) -> requests.Session:
    """A requests session that connects only to checked addresses of `host` (as returned by
    `webhook_address_check`), never through a proxy. Follow no redirects with it."""
    session = requests.Session()
    session.trust_env = False  # no HTTP(S)_PROXY, no .netrc credentials
    adapter = _CheckedAdapter(expected_host=host)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
