"""A real OpenLDAP server for the directory sign-in tests: Debian's `slapd` (2.5), started
once per session as the tests' own process. Loaded as a pytest plugin from conftest.py.

The `slapd` fixture writes a slapd.conf in a temporary folder (mdb backend, the memberof and
ppolicy overlays Debian ships as modules, TLS with a CA and a server certificate made here),
listens on two free loopback ports, ldap:// (StartTLS offered) and ldaps://, loads the test
directory through the running server (so the overlays see every add) and stops at the end.
The package's own service (/etc/ldap, port 389) plays no part.

The directory, under dc=pictorium,dc=test:
    ou=people: alice (designers), bob (staff), carol (disabled: ppolicy's administrative
        lock), dave (in no group), "O'Brien, Zoë (Design*)" (uid zoë.obrien, designers);
        each one's password is "<uid>-pw".
    ou=groups: designers inside creative inside staff, and staff inside creative (a cycle
        the nested walk must survive).
    ou=service: cn=reader, the service account (password "reader-pw"), which may read
        everything; anonymous clients read nothing.
    ou=ad: the same with Active Directory's names (tests only: a few attributes and classes
        under AD's OIDs): "Jane Doe" (sAMAccountName jdoe, UPN jdoe@corp.pictorium.test,
        objectGUID JDOE_GUID) in Marketing inside "All Staff", and "Old Admin" (olda),
        disabled by userAccountControl 514.
The certificate names "localhost" only: ldaps://127.0.0.1 is a name mismatch.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ldap3 import Connection, Server

from tests.waiting import wait_until
from webapp.account.ldap import (
    AD_USER_FILTER,
    OPENLDAP_GROUP_FILTER,
    OPENLDAP_USER_FILTER,
    LdapSettings,
)

SLAPD = "/usr/sbin/slapd"
BASE = "dc=pictorium,dc=test"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
ADMIN_DN, ADMIN_PW = f"cn=admin,{BASE}", "admin-secret-pw"
READER_DN, READER_PW = f"cn=reader,ou=service,{BASE}", "reader-pw"
#: The most entries a search of the service account returns without the paged results control.
PAGE_LIMIT = 20
ODD_DN = f"cn=O'Brien\\, Zoë (Design*),{PEOPLE}"
ODD_UID = "zoë.obrien"
AD = f"ou=ad,{BASE}"
JDOE_GUID = uuid.UUID("6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b")
ADMIN_GUID = uuid.UUID("0a1b2c3d-0000-4000-8000-00000000002a")

# A few of Active Directory's attribute and class names, under AD's own OIDs, so that the
# Active Directory settings (AD_USER_FILTER, userAccountControl, objectGUID) are exercised
# against slapd. It is not AD: LDAP_MATCHING_RULE_IN_CHAIN is not understood.
_AD_SCHEMA = """\
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID' EQUALITY octetStringMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.9 NAME 'user' SUP organizationalPerson STRUCTURAL
  MAY ( sAMAccountName $ userPrincipalName $ userAccountControl $ objectGUID $ mail $
  displayName ) )
objectclass ( 1.2.840.113556.1.5.8 NAME 'group' SUP top STRUCTURAL MUST cn
  MAY ( member $ sAMAccountName $ objectGUID ) )
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(common: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, host: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include {dir}/ad.schema
modulepath /usr/lib/ldap
moduleload back_mdb.la
moduleload memberof.la
moduleload ppolicy.la
pidfile {dir}/slapd.pid
TLSCACertificateFile {dir}/ca.pem
TLSCertificateFile {dir}/server.pem
TLSCertificateKeyFile {dir}/server.key

database mdb
maxsize 16777216
suffix "{base}"
rootdn "{admin}"
rootpw {admin_pw}
directory {dir}/db
index objectClass,uid,member,entryUUID eq
overlay memberof
overlay ppolicy
# Like Active Directory's MaxPageSize (1000): the service account gets at most PAGE_LIMIT
# entries a search, and any number through the paged results control.
limits dn.exact="{reader}" size.soft={page_limit} size.hard={page_limit} size.prtotal=unlimited
access to attrs=userPassword
    by anonymous auth
    by self read
    by * none
access to *
    by dn.exact="{reader}" read
    by self read
    by * none
"""


def _directory() -> list[tuple[str, list[str], dict[str, object]]]:
    person = ["inetOrgPerson"]
    rows: list[tuple[str, list[str], dict[str, object]]] = [
        (PEOPLE, ["organizationalUnit"], {"ou": "people"}),
        (GROUPS, ["organizationalUnit"], {"ou": "groups"}),
        (f"ou=service,{BASE}", ["organizationalUnit"], {"ou": "service"}),
        (AD, ["organizationalUnit"], {"ou": "ad"}),
        (
            READER_DN,
            ["organizationalRole", "simpleSecurityObject"],
            {"cn": "reader", "userPassword": READER_PW},
        ),
    ]
    for uid, name in [
        ("alice", "Alice Archer"),
        ("bob", "Bob Brown"),
        ("carol", "Carol Carter"),
        ("dave", "Dave Doe"),
    ]:
        rows.append(
            (
                f"uid={uid},{PEOPLE}",
                person,
                {
                    "uid": uid,
                    "cn": name,
                    "sn": name.split()[-1],
                    "mail": f"{uid}@pictorium.test",
                    "userPassword": f"{uid}-pw",
                },
            )
        )
    rows.append(
        (
            ODD_DN,
            person,
            {
                "uid": ODD_UID,
                "cn": "O'Brien, Zoë (Design*)",
                "sn": "O'Brien",
                "mail": "zoe@pictorium.test",
                "userPassword": f"{ODD_UID}-pw",
            },
        )
    )
    for cn, login, guid, uac in [
        ("Jane Doe", "jdoe", JDOE_GUID, 512),  # NORMAL_ACCOUNT
        ("Old Admin", "olda", ADMIN_GUID, 514),  # NORMAL_ACCOUNT | ACCOUNTDISABLE
    ]:
        rows.append(
            (
                f"cn={cn},{AD}",
                ["user"],
                {
                    "cn": cn,
                    "sn": cn.split()[-1],
                    "displayName": cn,
                    "sAMAccountName": login,
                    "userPrincipalName": f"{login}@corp.pictorium.test",
                    "userAccountControl": str(uac),
                    "objectGUID": guid.bytes_le,
                    "mail": f"{login}@corp.pictorium.test",
                    "userPassword": f"{login}-pw",
                },
            )
        )
    rows += [
        (f"cn=Marketing,{AD}", ["group"], {"cn": "Marketing", "member": [f"cn=Jane Doe,{AD}"]}),
        (f"cn=All Staff,{AD}", ["group"],
         {"cn": "All Staff", "member": [f"cn=Marketing,{AD}", f"cn=Old Admin,{AD}"]}),
    ]  # fmt: skip
    # groupOfNames needs a member: staff starts with bob and gets creative below.
    rows += [
        (f"cn=designers,{GROUPS}", ["groupOfNames"],
         {"cn": "designers", "member": [f"uid=alice,{PEOPLE}", ODD_DN]}),
        (f"cn=staff,{GROUPS}", ["groupOfNames"],
         {"cn": "staff", "member": [f"uid=bob,{PEOPLE}", f"uid=carol,{PEOPLE}"]}),
        (f"cn=creative,{GROUPS}", ["groupOfNames"],
         {"cn": "creative", "member": [f"cn=designers,{GROUPS}", f"cn=staff,{GROUPS}"]}),
    ]  # fmt: skip
    return rows


@dataclass
class Slapd:
    """A running slapd: its URLs, CA, the directory's DNs, and an admin connection."""

    port: int
    ldaps_port: int
    ca_pem: str
    other_ca_pem: str = field(repr=False)
    folder: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://localhost:{self.ldaps_port}"

    def settings(self, **changes: object) -> LdapSettings:
        """The OpenLDAP settings an admin would enter, plain on the ldap:// port, with any
        field changed."""
        base = LdapSettings(
            urls=(self.url,),
            security="plain",
            ca_pem="",
            bind_dn=READER_DN,
            bind_password=READER_PW,
            user_base=PEOPLE,
            user_filter=OPENLDAP_USER_FILTER,
            email_attr="mail",
            name_attr="cn",
            group_base=GROUPS,
            group_filter=OPENLDAP_GROUP_FILTER,
            nested_groups=True,
            timeout=3.0,
        )
        return replace(base, **changes)  # type: ignore[arg-type]

    def ad_settings(self, **changes: object) -> LdapSettings:
        """The Active Directory settings on the AD-like part of the directory (ou=ad); the
        group filter without IN_CHAIN, which slapd does not understand."""
        return self.settings(
            user_base=AD,
            user_filter=AD_USER_FILTER,
            name_attr="displayName",
            group_base=AD,
            group_filter="(&(objectClass=group)(member={dn}))",
            **changes,
        )

    @contextlib.contextmanager
    def admin(self) -> Iterator[Connection]:
        conn = Connection(Server("127.0.0.1", port=self.port), ADMIN_DN, ADMIN_PW)
        assert conn.bind(), conn.result
        try:
            yield conn
        finally:
            conn.unbind()

    def log(self) -> str:
        path = self.folder / "slapd.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def _load(server: Slapd) -> None:
    with server.admin() as conn:
        conn.add(BASE, ["dcObject", "organization"], {"dc": "pictorium", "o": "Pictorium"})
        for dn, classes, attrs in _directory():
            assert conn.add(dn, classes, attrs), (dn, conn.result)
        # creative inside staff (designers inside creative inside staff; staff inside
        # creative closes a cycle). The administrative lock: ppolicy's own value.
        assert conn.modify(
            f"cn=staff,{GROUPS}", {"member": [("MODIFY_ADD", [f"cn=creative,{GROUPS}"])]}
        ), conn.result
        assert conn.modify(
            f"uid=carol,{PEOPLE}", {"pwdAccountLockedTime": [("MODIFY_REPLACE", ["000001010000Z"])]}
        ), conn.result


@pytest.fixture(scope="session")
def slapd() -> Iterator[Slapd]:
    if not os.path.exists(SLAPD):
        pytest.fail("slapd is missing: run scripts/ensure-services.sh (make services)")
    folder = Path(tempfile.mkdtemp(prefix="pictorium-slapd-"))
    ca_key, ca = make_ca("Pictorium test CA")
    _, other_ca = make_ca("Some other CA")
    key, cert = make_server_cert(ca_key, ca, "localhost")
    (folder / "ca.pem").write_text(_pem(ca))
    (folder / "server.pem").write_text(_pem(cert))
    (folder / "server.key").write_bytes(_key_pem(key))
    (folder / "db").mkdir()
    (folder / "ad.schema").write_text(_AD_SCHEMA)
    (folder / "slapd.conf").write_text(
        _CONF.format(
            dir=folder,
            base=BASE,
            admin=ADMIN_DN,
            admin_pw=ADMIN_PW,
            reader=READER_DN,
            page_limit=PAGE_LIMIT,
        )
    )
    port, ldaps_port = free_port(), free_port()
    log = open(folder / "slapd.log", "wb")  # noqa: SIM115 - kept open for the process's life
    proc = subprocess.Popen(
        [
            SLAPD, "-f", str(folder / "slapd.conf"),
            "-h", f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{ldaps_port}/",
            "-d", "0",
        ],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = Slapd(port, ldaps_port, _pem(ca), _pem(other_ca), folder, proc)

    def listening() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"slapd exited with {proc.returncode}: {server.log()}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    atexit.register(stop)  # also when the session ends without finalizing its fixtures
    try:
        wait_until(listening, 30, lambda: f"slapd to listen: {server.log()}", interval=0.05)
        _load(server)
        yield server
    finally:
        stop()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def mute_listener() -> Iterator[str]:
    """An ldap:// URL of a socket that accepts TCP connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)  # held open, never read nor answered
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"ldap://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        sock.close()


@pytest.fixture
def dead_url() -> str:
    """An ldap:// URL where nothing listens (connections are refused)."""
    return f"ldap://127.0.0.1:{free_port()}"
