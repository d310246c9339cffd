"""The event bus's key material for a local stack, a test broker or compose: one certificate authority and
one TLS certificate and key per Kafka principal.

    python -m certifia_shared.pki DIR [--hosts kafka,localhost] [--principals a,b]   # (re)creates DIR

Each principal is the certificate's common name (``CN=<name>,O=certifia``); the broker maps it to
``User:<name>`` (``ssl.principal.mapping.rules``). Files are written 0600 (the folder 0700): ``ca.crt``,
``ca.key``, ``<name>.crt`` (leaf then CA), ``<name>.key`` (PKCS#8, unencrypted) and, for the broker and
the admin, ``<name>.pem`` (key and chain in one file: Kafka's PEM keystore, for the broker and Kafka's
command-line tools). Running it again replaces everything: a
new CA and new certificates (rotation); nothing is printed but the folder.

Deployments bring their own CA (see README, "Event bus security"): only the file layout matters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ORGANISATION = "certifia"
BROKER = "broker"
ADMIN = "admin"
SERVICES = ("enrolment", "assessment", "grading-compute", "thesis", "certification")
PRINCIPALS = (BROKER, ADMIN, *SERVICES)
DEFAULT_HOSTS = ("127.0.0.1", "localhost", "kafka")
CA_DAYS = 365
LEAF_DAYS = 90


@dataclass(frozen=True)
class Identity:
    """The files a client presents: the CA to trust, its certificate chain and its key."""

    cafile: Path
    certfile: Path
    keyfile: Path


def identity(directory: Path, principal: str) -> Identity:
    return Identity(directory / "ca.crt", directory / f"{principal}.crt", directory / f"{principal}.key")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, content: bytes) -> None:
    """Write ``content`` readable by the owner only (created 0600, never world-readable in between)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)


class CertificateAuthority:
    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self.key = key
        self.cert = cert

    @classmethod
    def create(cls, common_name: str = "certifia event bus CA", days: int = CA_DAYS) -> CertificateAuthority:
        key = _key()
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @classmethod
    def load(cls, directory: Path) -> CertificateAuthority:
        key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cls(key, x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes()))

    def issue(
        self, principal: str, *, hosts: Iterable[str] = (), days: int = LEAF_DAYS
    ) -> tuple[bytes, bytes]:
        """(certificate chain PEM, PKCS#8 key PEM) for ``principal``; ``hosts`` become its SANs (a server)."""
        key = _key()
        now = dt.datetime.now(dt.UTC)
        sans: list[x509.GeneralName] = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if sans else [])
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(principal))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return _pem_cert(cert) + _pem_cert(self.cert), _pem_key(key)

    def write_identity(self, directory: Path, principal: str, *, hosts: Iterable[str] = ()) -> Identity:
        chain, key = self.issue(principal, hosts=hosts)
        _write(directory / f"{principal}.crt", chain)
        _write(directory / f"{principal}.key", key)
        if principal in (BROKER, ADMIN):  # Kafka's own (Java) tools read key and chain from one PEM file
            _write(directory / f"{principal}.pem", key + chain)
        return identity(directory, principal)


def create(
    directory: Path, *, hosts: Iterable[str] = DEFAULT_HOSTS, principals: Iterable[str] = PRINCIPALS
) -> CertificateAuthority:
    """A new CA and one identity per principal in ``directory`` (replacing what was there)."""
    directory.mkdir(parents=True, mode=0o700, exist_ok=True)
    for old in directory.iterdir():  # emptied, not removed: it may be a mounted volume
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    directory.chmod(0o700)
    ca = CertificateAuthority.create()
    _write(directory / "ca.crt", _pem_cert(ca.cert))
    _write(directory / "ca.key", _pem_key(ca.key))
    for principal in principals:
        ca.write_identity(directory, principal, hosts=list(hosts) if principal == BROKER else [])
    return ca


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m certifia_shared.pki", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--hosts", default=",".join(DEFAULT_HOSTS), help="broker host names and addresses")
    parser.add_argument("--principals", default=",".join(PRINCIPALS))
    args = parser.parse_args(argv)
    principals = [p for p in args.principals.split(",") if p]
    if BROKER not in principals:
        principals.insert(0, BROKER)
    create(args.directory, hosts=[h for h in args.hosts.split(",") if h], principals=principals)
    print(args.directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
