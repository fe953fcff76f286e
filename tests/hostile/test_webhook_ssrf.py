"""SSRF through chat webhooks: an organiser must not be able to make the forum post to the
machine itself, the cloud's metadata service or the office network — neither by saving such
an address nor by a name that resolves there later — and no reply from an unknown host may
come back in the outbox's error column.

The suite's settings allow private addresses (the chat server listens on 127.0.0.1); every
test here turns that off first, as production does."""

import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.topicshare.test_settings import _run_production
from topicshare.core.egress import guarded_session
from topicshare.notifications.models import ChatWebhook
from topicshare.notifications.webhooks import WebhookError, webhook_send

REFUSED = (
    "The webhook address is not a public internet address; the forum posts only to public hosts."
)
UNRESOLVED = "The webhook's host name could not be resolved."
USERINFO = "The webhook address must not contain a user name or password."

# Spellings of this machine. With the chat server's port they all reach it when nothing stops
# the request, so each send-time test also proves that nothing arrived.
LOOPBACK_HOSTS = [
    ("ipv4", "127.0.0.1"),
    ("other-loopback", "127.5.6.7"),
    ("localhost", "localhost"),
    ("localhost-upper", "LocalHost"),
    ("trailing-dot", "127.0.0.1."),
    ("localhost-trailing-dot", "localhost."),
    ("decimal", "2130706433"),
    ("hex", "0x7f000001"),
    ("octal", "0177.0.0.1"),
    ("short", "127.1"),
    ("hex-dotted", "0x7f.0x0.0x0.0x1"),
    ("unspecified", "0.0.0.0"),  # noqa: S104 — connecting there reaches this machine
    ("unspecified-short", "0"),
    ("ipv6", "[::1]"),
    ("ipv4-mapped", "[::ffff:127.0.0.1]"),
    ("ipv4-mapped-hex", "[::ffff:7f00:1]"),
]
# Every other class that is not the public internet.
OTHER_HOSTS = [
    ("private-10", "10.0.0.1"),
    ("private-172", "172.16.0.1"),
    ("private-192", "192.168.1.1"),
    ("cloud-metadata", "169.254.169.254"),
    ("shared-cgnat", "100.64.0.1"),
    ("documentation", "192.0.2.1"),
    ("benchmarking", "198.18.0.1"),
    ("reserved", "240.0.0.1"),
    ("broadcast", "255.255.255.255"),
    ("multicast", "224.0.0.1"),
    ("link-local-v6", "[fe80::1]"),
    ("unique-local-v6", "[fc00::1]"),
    ("site-local-v6", "[fec0::1]"),
    ("multicast-v6", "[ff02::1]"),
    ("unspecified-v6", "[::]"),
    ("mapped-metadata", "[::ffff:169.254.169.254]"),
    ("mapped-private", "[::ffff:10.0.0.1]"),
    ("ipv4-compatible", "[::127.0.0.1]"),
    ("nat64-loopback", "[64:ff9b::7f00:1]"),
    ("6to4-private", "[2002:a00:1::1]"),
    ("teredo", "[2001:0:4136:e378:8000:63bf:3fff:fdd2]"),
]
ALL_HOSTS = LOOPBACK_HOSTS + OTHER_HOSTS


@pytest.fixture(autouse=True)
def production_policy(settings):
    settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = False
    settings.TOPICSHARE_WEBHOOKS_ALLOWED_HOSTS = []


def _webhook(url: str, provider: str = "generic") -> ChatWebhook:
    return ChatWebhook(name="hook", provider=provider, url=url, audience="audience")


def _url_errors(webhook: ChatWebhook) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        webhook.full_clean()
    return caught.value.message_dict.get("url", [])


def _send(webhook: ChatWebhook) -> WebhookError:
    with pytest.raises(WebhookError) as caught:
        webhook_send(webhook=webhook, title="t", text="x", url="", timeout=0.5)
    return caught.value


# --- Save time ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", [host for _name, host in ALL_HOSTS], ids=[n for n, _ in ALL_HOSTS])
def test_saving_a_webhook_to_a_non_public_address_is_refused(host):
    assert _url_errors(_webhook(f"http://{host}:6379/hook")) != []


@pytest.mark.parametrize(
    "url",
    ["http://good.example@127.0.0.1/", "http://open.feishu.cn@10.0.0.1/x", "https://u:p@8.8.8.8/"],
)
def test_saving_a_webhook_with_userinfo_is_refused(url):
    assert _url_errors(_webhook(url)) == [USERINFO]


@pytest.mark.django_db
def test_the_admin_form_refuses_the_metadata_address(client, organiser):
    client.force_login(organiser)

    response = client.post(
        reverse("admin:notifications_chatwebhook_add"),
        {"name": "meta", "provider": "generic", "audience": "audience", "enabled": "on",
         "url": "http://169.254.169.254/latest/meta-data/", "secret": "", "track": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip

    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert not ChatWebhook.objects.exists()


@pytest.mark.parametrize("url", ["https://8.8.8.8/hook", "http://[2606:4700:4700::1111]:8080/x"])
def test_saving_a_generic_webhook_to_a_public_address_is_accepted(url):
    _webhook(url).full_clean()


# --- Send time ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", [host for _name, host in LOOPBACK_HOSTS], ids=[n for n, _ in LOOPBACK_HOSTS]
)
def test_sending_to_this_machine_is_refused_and_nothing_arrives(chat_server, host):
    error = _send(_webhook(f"http://{host}:{chat_server.port}/hook"))

    assert chat_server.received == []
    assert error.permanent is (str(error) != UNRESOLVED)
    # "localhost." resolves on some machines and not on others; either way nothing is sent.
    assert str(error) == REFUSED or (host == "localhost." and str(error) == UNRESOLVED)


@pytest.mark.parametrize(
    "host", [host for _name, host in OTHER_HOSTS], ids=[n for n, _ in OTHER_HOSTS]
)
def test_sending_to_a_non_public_address_is_refused_before_connecting(host):
    error = _send(_webhook(f"http://{host}:6379/hook"))

    assert (str(error), error.permanent) == (REFUSED, True)


def test_sending_with_userinfo_is_refused(chat_server):
    error = _send(_webhook(f"http://good.example@127.0.0.1:{chat_server.port}/hook"))

    assert (str(error), error.permanent) == (USERINFO, True)
    assert chat_server.received == []


@pytest.fixture
def fake_dns(monkeypatch):
    """Answers for names under .rebind.test, the way an attacker's DNS server would (nothing on
    this machine can be made to answer differently per query otherwise); every other name goes
    to the real resolver. Returns the list of names looked up."""
    real = socket.getaddrinfo
    answers: dict[str, list[list[str]]] = {}
    asked: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not name.rstrip(".").endswith(".rebind.test"):
            return real(host, port, family, type, proto, flags)
        asked.append(name)
        queue = answers[name.rstrip(".")]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
             (a, int(port or 0), 0, 0) if ":" in a else (a, int(port or 0)))
            for a in addresses
        ]  # fmt: skip

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, asked


def test_a_name_resolving_to_loopback_at_send_time_is_refused(chat_server, fake_dns, settings):
    """Saved while it pointed elsewhere (here: while private addresses were allowed), sent
    after it was re-pointed at 127.0.0.1: the check at send time refuses it."""
    answers, _asked = fake_dns
    answers["hook.rebind.test"] = [["127.0.0.1"]]
    settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = True
    webhook = _webhook(f"http://hook.rebind.test:{chat_server.port}/hook")
    webhook.full_clean()
    settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = False

    error = _send(webhook)

    assert (str(error), error.permanent) == (REFUSED, True)
    assert chat_server.received == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(chat_server, fake_dns):
    answers, _asked = fake_dns
    answers["mixed.rebind.test"] = [["8.8.8.8", "127.0.0.1"]]

    assert _url_errors(_webhook(f"http://mixed.rebind.test:{chat_server.port}/hook")) == [REFUSED]
    error = _send(_webhook(f"http://mixed.rebind.test:{chat_server.port}/hook"))

    assert str(error) == REFUSED
    assert chat_server.received == []


def test_the_socket_connects_to_the_address_that_was_checked(chat_server, fake_dns, settings):
    """DNS rebinding: the first answer is checked, later answers differ. The sender looks the
    name up once and connects to exactly that address, so a second lookup (which here would
    lead to 127.0.0.2, where nothing listens) never happens."""
    settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = True
    answers, asked = fake_dns
    answers["flip.rebind.test"] = [["127.0.0.1"], ["127.0.0.2"]]

    webhook_send(
        webhook=_webhook(f"http://flip.rebind.test:{chat_server.port}/hook"),
        title="t", text="x", url="", timeout=2,
    )  # fmt: skip

    assert asked == ["flip.rebind.test"]
    received = chat_server.only_request()
    assert received.headers["host"] == f"flip.rebind.test:{chat_server.port}"


def test_proxies_from_the_environment_are_not_used(chat_server, monkeypatch, closed_port, settings):
    """A proxy would connect on the forum's behalf, after every check: the sender ignores
    HTTP_PROXY and connects itself (here: to a closed port, so it fails)."""
    settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setenv("HTTP_PROXY", chat_server.url(""))
    monkeypatch.setenv("NO_PROXY", "")

    error = _send(_webhook(f"http://127.0.0.1:{closed_port}/hook"))

    assert str(error) == "Could not connect to the chat service."
    assert chat_server.received == []


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Known providers only to their own hosts ---------------------------------------------


@pytest.mark.parametrize(
    ("provider", "url"),
    [
        ("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/abc"),
        ("feishu", "https://open.larksuite.com/open-apis/bot/v2/hook/abc"),
        ("feishu", "https://OPEN.FEISHU.CN./open-apis/bot/v2/hook/abc"),
        ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"),
        ("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t"),
        ("dingtalk", "https://oapi.dingtalk.com:443/robot/send?access_token=t"),
    ],
)
def test_a_provider_webhook_on_its_own_host_is_accepted(provider, url):
    _webhook(url, provider).full_clean()


@pytest.mark.parametrize(
    ("provider", "url"),
    [
        ("feishu", "https://evil.example/open-apis/bot/v2/hook/abc"),
        ("feishu", "https://open.feishu.cn.evil.example/open-apis/bot/v2/hook/abc"),
        ("feishu", "https://evilopen.feishu.cn/open-apis/bot/v2/hook/abc"),
        ("feishu", "http://open.feishu.cn/open-apis/bot/v2/hook/abc"),
        ("feishu", "https://open.feishu.cn:8443/open-apis/bot/v2/hook/abc"),
        ("feishu", "https://8.8.8.8/open-apis/bot/v2/hook/abc"),
        ("wecom", "https://open.feishu.cn/cgi-bin/webhook/send?key=k"),
        ("dingtalk", "https://qyapi.weixin.qq.com/robot/send?access_token=t"),
        ("dingtalk", "https://oapi.dingtalk.com@127.0.0.1/robot/send?access_token=t"),
    ],
)
def test_a_provider_webhook_elsewhere_is_refused_at_save_and_send(provider, url):
    assert _url_errors(_webhook(url, provider)) != []
    error = _send(_webhook(url, provider))
    assert error.permanent is True


@pytest.mark.django_db
def test_a_provider_reply_from_an_unknown_host_never_reaches_the_outbox(chat_server, settings):
    """Before: a "WeCom" bot pointed at an internal service had that service's JSON error text
    stored in Notification.last_error. Now the request is never made."""
    settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = True  # only the provider rule is left
    chat_server.reply = {"errcode": 1, "errmsg": "redis_version:7.2.4 internal-secret"}
    webhook = ChatWebhook.objects.create(
        name="wecom", provider="wecom", url=chat_server.url("/cgi-bin/webhook/send?key=k")
    )

    error = _send(webhook)

    assert chat_server.received == []
    assert "internal-secret" not in str(error)
    assert error.permanent is True


@pytest.mark.parametrize("status", [302, 404, 500])
def test_a_generic_webhook_error_says_only_the_status(chat_server, settings, status):
    settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = True
    chat_server.status = status
    chat_server.reply = {"code": 1, "msg": "internal-secret", "errcode": 1, "errmsg": "internal"}

    error = _send(_webhook(chat_server.url("/hook")))

    assert "internal" not in str(error)
    assert str(error).startswith(
        ("The chat service answered HTTP", "The webhook address redirects")
    )


# --- The setting -------------------------------------------------------------------------


def test_production_settings_never_allow_private_webhook_addresses():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE)"
    )
    result = _run_production(
        ["-c", code], secret="x" * 60, extra={"TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE": "true"}
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_https_to_the_checked_address_keeps_the_name_for_sni_and_certificate(
    fake_dns, settings, tmp_path
):
    """The socket goes to the checked IP, but TLS is still about the name: the server sees it
    in SNI and the certificate is verified for it (a certificate for another name fails)."""
    settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = True
    answers, asked = fake_dns
    answers["tls.rebind.test"] = [["127.0.0.1"]]
    answers["other.rebind.test"] = [["127.0.0.1"]]
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tls.rebind.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("tls.rebind.test")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    seen: dict[str, list[str]] = {"sni": [], "host": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen["host"].append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, format, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda _sock, server_name, _ctx: seen["sni"].append(server_name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        with guarded_session(host="tls.rebind.test") as session:
            response = session.post(
                f"https://tls.rebind.test:{port}/hook", data=b"{}", verify=str(cert_file),
                timeout=5,
            )  # fmt: skip
        with (
            guarded_session(host="other.rebind.test") as session,
            pytest.raises(requests.exceptions.SSLError),
        ):
            session.post(
                f"https://other.rebind.test:{port}/hook", data=b"{}", verify=str(cert_file),
                timeout=5,
            )  # fmt: skip
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

    assert response.status_code == 204
    assert seen["host"] == [f"tls.rebind.test:{port}"]
    assert seen["sni"] == ["tls.rebind.test", "other.rebind.test"]
    assert asked == ["tls.rebind.test", "other.rebind.test"]
