"""TLS for the stand-ins: a certificate authority made for the test, and a TLS front.

A real client verifies the server's certificate; a stand-in on plain HTTP proves nothing
about the HTTPS path a Space uses. ``TestCA`` makes a throwaway CA and a server
certificate for 127.0.0.1 and localhost; clients trust it through ``SSL_CERT_FILE``
(Python's ssl, httpx and libpq-free clients read it) or by loading ``ca.pem``.
``TlsFront`` accepts TLS on its own port and pipes the plain bytes to a local port, so
any stand-in is also served over HTTPS without changing it.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

__all__ = ["TestCA", "TlsFront", "pipe"]


class TestCA:
    """A CA and one server certificate (127.0.0.1, localhost, ``names`` and ``addresses``), as
    PEM files in ``directory``: ``ca_file`` for clients, ``server_context()`` for servers.
    ``names``/``addresses``: e.g. a host name or gateway address a container uses."""

    __test__ = False  # not a pytest test class

    def __init__(
        self, directory: Path, names: tuple[str, ...] = (), addresses: tuple[str, ...] = ()
    ) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.UTC)
        ca_key, key = (
            ec.generate_private_key(ec.SECP256R1()),
            ec.generate_private_key(ec.SECP256R1()),
        )
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stand-in test CA")])
        ca_cert = (
            x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
            .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip
        alt_names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        alt_names += [x509.DNSName(name) for name in names]
        alt_names += [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip
        pem = serialization.Encoding.PEM
        self.ca_file = directory / "ca.pem"
        self.ca_file.write_bytes(ca_cert.public_bytes(pem))
        self.cert_file = directory / "server.pem"
        self.cert_file.write_bytes(cert.public_bytes(pem))
        self.key_file = directory / "server.key"
        self.key_file.write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


def pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes from source to sink until source ends; then end sink's writing side."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


class TlsFront:
    """TLS on ``host``:``port`` (0: the kernel picks), plain TCP to 127.0.0.1:``target_port``.
    ``connections`` counts the connections it accepted (before the handshake).
    ``ca=None`` forwards plain TCP instead (a native port, e.g. Postgres's 5432)."""

    def __init__(
        self, ca: TestCA | None, target_port: int, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.context = ca.server_context() if ca else None
        self.target_port = target_port
        self.host = host
        self.connections = 0
        self._listener = socket.create_server((host, port))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return  # closed
            self.connections += 1  # one accepting thread: no lock needed
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            client = self.context.wrap_socket(raw, server_side=True) if self.context else raw
        except (OSError, ssl.SSLError):
            raw.close()
            return
        with client, socket.create_connection(("127.0.0.1", self.target_port)) as target:
            upstream = threading.Thread(target=pipe, args=(client, target), daemon=True)
            upstream.start()
            pipe(target, client)
            upstream.join(timeout=5)

    def __enter__(self) -> TlsFront:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._listener.close()
