"""Issue 10, finding 1 and item 1: only registered sending systems reach the intake, each only for
its own facilities, and an update never silently overwrites who a patient is.

The MLLP tests run the real ``mllp_listen`` (a subprocess on the test database) with real TLS
certificates made here with ``cryptography``: a CA, a server certificate for 127.0.0.1, a client
certificate for the sending system of facility A, one for a stranger, one from another CA.
"""

import datetime as dt
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from casework.models import Facility
from referrals import dead_letters, permissions, services
from referrals.intake import process, receive
from referrals.mllp import MllpServer
from referrals.models import Admission, IdentityVersion, InboundMessage
from tests.referrals.helpers import adt, as_json, bundle, msa

ROOT = Path(__file__).resolve().parents[2]


def on_the_listener(test):
    """Against the real listener process: committed rows on PostgreSQL, reference data restored after."""
    return pytest.mark.postgres(pytest.mark.django_db(transaction=True, serialized_rollback=True)(test))


# ---------------------------------------------------------------- certificates, made here


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Casetrail test"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _certificate(subject: str, issuer_name: x509.Name, issuer_key, key, *, ca=False, server=False):
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


class Pki:
    """A CA and the certificates it signs, written as PEM files under ``folder``."""

    def __init__(self, folder: Path, name: str):
        self.folder, self.name, self.key = folder, name, ec.generate_private_key(ec.SECP256R1())
        self.cert = _certificate(name, _name(name), self.key, self.key, ca=True)
        self.ca_file = self.write(f"{name}-ca.pem", self.cert)

    def write(self, filename: str, cert, key=None) -> str:
        path = self.folder / filename
        data = cert.public_bytes(serialization.Encoding.PEM)
        if key is not None:
            data += key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        path.write_bytes(data)
        return str(path)

    def issue(self, cn: str, *, server=False) -> tuple[str, str]:
        """(PEM file holding certificate and key, SHA-256 fingerprint of the certificate)."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(cn, self.cert.subject, self.key, key, server=server)
        return self.write(f"{self.name}-{cn}.pem", cert, key), cert.fingerprint(hashes.SHA256()).hex()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ours, theirs = Pki(folder, "casetrail-test"), Pki(folder, "another")
    server, _ = ours.issue("127.0.0.1", server=True)
    a, a_fingerprint = ours.issue("hectis-a")
    stranger, _ = ours.issue("stranger")
    forged, _ = theirs.issue("hectis-a")  # the right name, the wrong CA
    return {
        "ca": ours.ca_file,
        "server": server,
        "a": a,
        "a_fingerprint": a_fingerprint,
        "stranger": stranger,
        "forged": forged,
    }


# ---------------------------------------------------------------- the listener and its clients


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env() -> dict:
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace("@", f":{db['PASSWORD']}@", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLLP_", "CELERY_BROKER"))}
    # No broker: the listener processes what it stores at once (eager tasks), on the test database.
    return env | {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}


@pytest.fixture
def listen(tmp_path):
    """``listen(*options)``: start ``mllp_listen`` with these options; its port. Stopped by pid after
    (its log is printed, so a failing test shows what the listener said)."""
    procs = []
    log = tmp_path / "mllp_listen.log"

    def start(*options) -> int:
        port = free_port()
        argv = [sys.executable, "manage.py", "mllp_listen", "--host", "127.0.0.1", "--port", str(port)]
        with log.open("ab") as out:
            p = subprocess.Popen([*argv, *options], cwd=ROOT, env=child_env(), stdout=out, stderr=out)
        procs.append(p)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError(f"mllp_listen exited: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return port
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("mllp_listen did not start")

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if log.exists():
        print(log.read_text()[-5000:])


def client_context(ca: str, certificate: str | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(ca)
    if certificate:
        context.load_cert_chain(certificate)
    return context


def exchange(port: int, message: str, context: ssl.SSLContext | None = None) -> str | None:
    """Send one MLLP frame (over TLS with ``context``, else plain TCP); the ACK, or None when the
    listener closed (or refused the handshake) without answering."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            sock = context.wrap_socket(raw, server_hostname="127.0.0.1") if context else raw
            sock.sendall(b"\x0b" + message.encode() + b"\x1c\x0d")
            data = b""
            while not data.endswith(b"\x1c\x0d"):
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                data += chunk
            return data.strip(b"\x0b\x1c\x0d").decode()
    except (ssl.SSLError, OSError):
        return None


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture
def facility_a(db):
    return Facility.objects.get(code="tygerberg")


@pytest.fixture
def facility_b(db):
    return Facility.objects.get(code="groote-schuur")


@pytest.fixture
def sender_a(make_sender, facility_a, pki):
    """The sending system of facility A, known by its certificate's fingerprint and CN."""
    return make_sender(
        "hectis-a",
        facilities=[facility_a],
        certificate_sha256=pki["a_fingerprint"],
        certificate_subject="hectis-a",
    )


@pytest.fixture
def tls_listener(listen, pki, sender_a):
    return listen("--cert", pki["server"], "--key", pki["server"], "--ca", pki["ca"])


# ---------------------------------------------------------------- MLLP over TLS


@on_the_listener
@pytest.mark.parametrize("who", ["no certificate", "another CA", "unknown certificate"])
def test_a_caller_without_a_registered_certificate_gets_no_answer_and_nothing_is_stored(
    who, pki, tls_listener
):
    certificate = {
        "no certificate": None,
        "another CA": pki["forged"],
        "unknown certificate": pki["stranger"],
    }
    answer = exchange(tls_listener, adt(), client_context(pki["ca"], certificate[who]))
    assert answer is None
    assert InboundMessage.objects.count() == 0


@on_the_listener
def test_a_registered_certificate_sending_for_its_facility_gets_aa_and_the_admission_is_stored(
    pki, tls_listener, facility_a, sender_a
):
    answer = exchange(tls_listener, adt(control="GOOD1"), client_context(pki["ca"], pki["a"]))
    assert msa(answer)[1:3] == ["AA", "GOOD1"]
    assert wait_for(lambda: Admission.objects.filter(facility=facility_a, visit_number="V0001").exists())
    message = InboundMessage.objects.get(control_id="GOOD1")
    assert message.sending_system == sender_a


@on_the_listener
def test_a_certificate_for_facility_a_sending_for_b_gets_ar_and_nothing_is_admitted(
    pki, tls_listener, facility_b, sender_a
):
    answer = exchange(
        tls_listener, adt(facility=facility_b.code, control="FOR-B"), client_context(pki["ca"], pki["a"])
    )
    assert msa(answer)[1] == "AR"
    assert "may not send for facility 'groote-schuur'" in msa(answer)[3]
    rejected = InboundMessage.objects.get(control_id="FOR-B")  # kept raw, as every rejection is
    assert (rejected.status, rejected.sending_system, rejected.facility) == ("rejected", sender_a, facility_b)
    time.sleep(0.5)
    assert Admission.objects.count() == 0


@on_the_listener
def test_a_sender_registered_by_name_only_is_known_by_its_certificates_cn(
    listen, pki, make_sender, facility_a
):
    make_sender("hectis-a", facilities=[facility_a], certificate_subject="hectis-a")
    port = listen("--cert", pki["server"], "--key", pki["server"], "--ca", pki["ca"])
    assert msa(exchange(port, adt(), client_context(pki["ca"], pki["a"])))[1] == "AA"
    assert exchange(port, adt(control="X"), client_context(pki["ca"], pki["stranger"])) is None


@on_the_listener
def test_a_deactivated_sender_is_refused_from_the_next_start(listen, pki, sender_a):
    services.sending_system_update(system=sender_a, active=False)
    port = listen("--cert", pki["server"], "--key", pki["server"], "--ca", pki["ca"])
    assert exchange(port, adt(), client_context(pki["ca"], pki["a"])) is None
    assert InboundMessage.objects.count() == 0


@on_the_listener
def test_finding_1_a_plain_tcp_client_without_credential_cannot_overwrite_a_known_visit(
    pki, tls_listener, facility_a, sender_a
):
    """The probe of finding 1, against the listener as deployed: an A08 for a known visit, sent by
    a plain TCP client with no credential, got AA and overwrote the patient. Now: no answer, no change."""
    assert (
        msa(exchange(tls_listener, adt(control="ORIG", name="Doe^Jo"), client_context(pki["ca"], pki["a"])))[
            1
        ]
        == "AA"
    )
    assert wait_for(lambda: Admission.objects.filter(visit_number="V0001").exists())
    admission = Admission.objects.get(visit_number="V0001")
    before = (admission.identity.name, admission.identity.identifiers, admission.updated_at)

    probe = adt(control="PROBE", event="A08", name="Attacker^Mallory", patient_id="9999999999999", folder="1")
    assert exchange(tls_listener, probe) is None  # plain TCP to the TLS port: no handshake, no answer

    time.sleep(0.5)
    admission.refresh_from_db()
    identity = admission.identity
    identity.refresh_from_db()
    assert (identity.name, identity.identifiers, admission.updated_at) == before
    assert not InboundMessage.objects.filter(control_id="PROBE").exists()
    assert Admission.objects.count() == 1


# ---------------------------------------------------------------- plain MLLP


def test_plain_mllp_is_refused_unless_explicitly_enabled(db):
    with pytest.raises(CommandError, match="--cert, --key, --ca"):
        call_command("mllp_listen", "--port", str(free_port()))
    with pytest.raises(CommandError, match="--plain-allow"):
        call_command("mllp_listen", "--plain", "--plain-sender", "hectis-a", "--port", str(free_port()))
    with pytest.raises(CommandError, match="--plain-sender"):
        call_command("mllp_listen", "--plain", "--plain-allow", "127.0.0.1", "--port", str(free_port()))
    with pytest.raises(CommandError, match="not an allow-list"):
        call_command("mllp_listen", "--plain", "--plain-allow", "0.0.0.0/0", "--plain-sender", "x")
    with pytest.raises(ValueError, match="plain MLLP explicitly enabled"):
        MllpServer("127.0.0.1", free_port())


@on_the_listener
def test_plain_mllp_from_an_address_outside_the_allow_list_gets_no_answer(listen, sender_a):
    port = listen("--plain", "--plain-allow", "10.0.0.0/8", "--plain-sender", "hectis-a")
    assert exchange(port, adt()) is None
    assert InboundMessage.objects.count() == 0


@on_the_listener
def test_plain_mllp_from_an_allowed_address_is_the_configured_sender_and_still_scoped(
    listen, sender_a, facility_a, facility_b
):
    port = listen("--plain", "--plain-allow", "10.0.0.0/8, 127.0.0.1", "--plain-sender", "hectis-a")
    assert msa(exchange(port, adt(control="P1")))[1] == "AA"
    assert msa(exchange(port, adt(control="P2", facility=facility_b.code)))[1] == "AR"
    assert wait_for(lambda: Admission.objects.filter(facility=facility_a).count() == 1)
    assert InboundMessage.objects.get(control_id="P1").sending_system == sender_a
    assert not Admission.objects.filter(facility=facility_b).exists()


@on_the_listener
def test_the_listener_sees_a_change_of_the_registry_without_a_restart(
    listen, sender_a, facility_a, facility_b
):
    port = listen(
        "--plain", "--plain-allow", "127.0.0.1", "--plain-sender", "hectis-a", "--refresh-seconds", "0.5"
    )
    assert msa(exchange(port, adt(control="R1", facility=facility_b.code)))[1] == "AR"
    services.sending_system_set_facilities(system=sender_a, facilities=[facility_a, facility_b])
    time.sleep(2)
    assert msa(exchange(port, adt(control="R2", facility=facility_b.code)))[1] == "AA"
    services.sending_system_update(system=sender_a, active=False)
    time.sleep(2)
    assert exchange(port, adt(control="R3")) is None  # deactivated: closed with no answer


def test_the_allow_list_decision_covers_networks_and_ipv4_mapped_addresses():
    allowed = permissions.parse_networks("10.0.0.0/8, 192.168.1.7")
    assert permissions.plain_peer_allowed("10.20.30.40", allowed)
    assert permissions.plain_peer_allowed("::ffff:192.168.1.7", allowed)
    assert not permissions.plain_peer_allowed("127.0.0.1", allowed)
    assert not permissions.plain_peer_allowed("not an address", allowed)
    with pytest.raises(ValueError, match="'10.0.0.300'"):
        permissions.parse_networks("10.0.0.300")


# ---------------------------------------------------------------- HTTP, FHIR and CSV


def post_hl7(api, user, raw):
    return api(user).post("/api/v1/intake/hl7/", data=raw, content_type="application/hl7-v2")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["health_capture", "vpu_analyst", "admin", None])
def test_hl7_and_fhir_over_http_are_refused_to_anyone_who_is_not_a_sending_system(
    api, make_user, facility_a, role
):
    user = make_user(role, grants=[facility_a]) if role else make_user()
    assert post_hl7(api, user, adt()).status_code == 403
    fhir = api(user).post(
        "/api/v1/intake/fhir/", data=as_json(bundle()), content_type="application/fhir+json"
    )
    assert fhir.status_code == 403
    assert InboundMessage.objects.count() == 0


@pytest.mark.django_db
def test_a_sender_posting_hl7_for_another_facility_gets_403_with_ar_and_nothing_admitted(
    api, sender_a, facility_b, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_hl7(api, sender_a.account, adt(facility=facility_b.code))
    assert response.status_code == 403
    assert msa(response.content.decode())[1] == "AR"
    assert Admission.objects.count() == 0
    assert InboundMessage.objects.get().status == "rejected"


@pytest.mark.django_db
def test_a_sender_posting_a_bundle_for_another_facility_gets_a_403_operation_outcome(
    api, sender_a, facility_b, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(sender_a.account).post(
            "/api/v1/intake/fhir/",
            data=as_json(bundle(facility=facility_b.code)),
            content_type="application/fhir+json",
        )
    assert response.status_code == 403
    issue = response.json()["issue"][0]
    assert (issue["code"], issue["expression"]) == ("forbidden", ["Encounter.serviceProvider"])
    assert Admission.objects.count() == 0
    assert InboundMessage.objects.get().status == "rejected"


@pytest.mark.django_db
def test_a_sender_uploading_csv_rows_for_another_facility_gets_them_listed_and_not_kept(
    api, sender_a, facility_a, facility_b, django_capture_on_commit_callbacks
):
    from tests.referrals.test_csv_and_form import csv_text, good

    text = csv_text([good(1), good(2, facility=facility_b.code)])
    with django_capture_on_commit_callbacks(execute=True):
        response = api(sender_a.account).post(
            "/api/v1/intake/csv/",
            {"file": SimpleUploadedFile("b.csv", text.encode(), "text/csv")},
            format="multipart",
        )
    assert response.status_code == 201
    assert [(p["row"], p["field"]) for p in response.json()["problems"]] == [(3, "facility")]
    assert list(Admission.objects.values_list("facility__code", flat=True)) == ["tygerberg"]

    only_b = csv_text([good(3, facility=facility_b.code)])
    response = api(sender_a.account).post(
        "/api/v1/intake/csv/",
        {"file": SimpleUploadedFile("c.csv", only_b.encode(), "text/csv")},
        format="multipart",
    )
    assert response.status_code == 422
    assert not Admission.objects.filter(facility=facility_b).exists()


@pytest.mark.django_db
def test_a_deactivated_sending_system_may_no_longer_post(api, sender_a):
    services.sending_system_update(system=sender_a, active=False)
    sender_a.account.refresh_from_db()
    assert post_hl7(api, sender_a.account, adt()).status_code == 403
    assert InboundMessage.objects.count() == 0


# ---------------------------------------------------------------- updates: same facility, versions


@pytest.mark.django_db
def test_an_a08_from_the_sender_of_facility_b_for_a_visit_of_facility_a_changes_nothing(
    api, make_sender, sender_a, facility_a, facility_b, django_capture_on_commit_callbacks
):
    sender_b = make_sender("clinicom-b", facilities=[facility_b])
    with django_capture_on_commit_callbacks(execute=True):
        post_hl7(api, sender_a.account, adt(control="A1", name="Doe^Jo"))
    original = Admission.objects.get(facility=facility_a, visit_number="V0001")
    before = (original.identity.name, original.triage, original.updated_at)

    update = dict(event="A08", visit="V0001", name="Other^Person", obx={"TRIAGE": "RED"})
    with django_capture_on_commit_callbacks(execute=True):
        as_a = post_hl7(api, sender_b.account, adt(control="B1", facility=facility_a.code, **update))
        as_own = post_hl7(api, sender_b.account, adt(control="B2", facility=facility_b.code, **update))
    assert as_a.status_code == 403 and msa(as_a.content.decode())[1] == "AR"
    assert as_own.status_code == 200  # its own facility's visit V0001: another admission

    original.refresh_from_db()
    original.identity.refresh_from_db()
    assert (original.identity.name, original.triage, original.updated_at) == before
    assert not IdentityVersion.objects.filter(admission=original).exists()
    assert Admission.objects.get(facility=facility_b, visit_number="V0001").identity.name == "Person Other"


@pytest.mark.django_db
def test_an_a08_changing_the_name_keeps_the_old_identity_as_a_version_with_who_when_and_which_message(
    api, sender_a, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_hl7(api, sender_a.account, adt(control="N1", name="Doe^Jo"))
        post_hl7(
            api, sender_a.account, adt(control="N2", event="A08", name="Doe^Jo")
        )  # no change: no version
        post_hl7(api, sender_a.account, adt(control="N3", event="A08", name="Mokoena^Thandiwe"))
    admission = Admission.objects.get()
    assert admission.identity.name == "Thandiwe Mokoena"  # the current identity is the one shown

    versions = services.identity_versions_read(admission=admission, actor=admin_user, purpose="test")
    assert len(versions) == 1
    old = versions[0]
    assert old.details["name"] == "Jo Doe"
    assert old.details["identifiers"] == admission.identity.identifiers
    assert old.replaced_by_sender == sender_a
    assert old.replaced_by_user == sender_a.account
    assert old.replaced_by_message == InboundMessage.objects.get(control_id="N3")
    assert abs((old.replaced_at - admission.updated_at).total_seconds()) < 60


@pytest.mark.django_db
def test_identity_versions_are_append_only(api, sender_a, django_capture_on_commit_callbacks):
    from django.core.exceptions import ValidationError
    from django.db import DatabaseError, transaction

    with django_capture_on_commit_callbacks(execute=True):
        post_hl7(api, sender_a.account, adt(control="V1", name="Doe^Jo"))
        post_hl7(api, sender_a.account, adt(control="V2", event="A08", name="Roe^Jane"))
    version = IdentityVersion.objects.get()
    with pytest.raises(ValidationError):
        version.save()
    with pytest.raises(ValidationError):
        version.delete()
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        with pytest.raises(DatabaseError), transaction.atomic():
            IdentityVersion.objects.filter(pk=version.pk).update(replaced_by_user=None)
        with pytest.raises(DatabaseError), transaction.atomic():
            IdentityVersion.objects.filter(pk=version.pk).delete()
        IdentityVersion.objects.filter(pk=version.pk).update(details=None)  # the retention purge may blank it


@pytest.mark.django_db
def test_a_stored_message_is_not_processed_for_a_facility_its_sender_lost_meanwhile(
    sender_a, facility_a, django_capture_on_commit_callbacks
):
    scope = permissions.sender_of(sender_a)
    receive.inbound_receive_hl7(raw=adt(control="LATE"), sender=scope)  # stored, not yet processed
    services.sending_system_set_facilities(system=sender_a, facilities=[])
    with django_capture_on_commit_callbacks(execute=True):
        process.inbound_process(InboundMessage.objects.get(control_id="LATE").pk)
    message = InboundMessage.objects.get(control_id="LATE")
    assert message.status == "failed"
    assert "may not send for facility 'tygerberg'" in message.reason
    assert Admission.objects.count() == 0


@pytest.mark.django_db
def test_a_corrected_dead_letter_cannot_move_a_message_to_a_facility_of_another_sender(
    sender_a, facility_b, admin_user
):
    scope = permissions.sender_of(sender_a)
    rejected = receive.inbound_receive_hl7(raw=adt(visit=""), sender=scope).message  # AE: a dead letter
    from casework.errors import InvalidInput

    with pytest.raises(InvalidInput, match="may not send for facility 'groote-schuur'"):
        dead_letters.dead_letter_replay(message=rejected, actor=admin_user, raw=adt(facility=facility_b.code))


@pytest.mark.django_db
def test_the_registry_keeps_one_source_of_truth_for_a_senders_facilities(make_sender, facility_a, facility_b):
    system = make_sender("hub", facilities=[facility_a])
    assert permissions.sender_of(system).facilities == {"tygerberg"}
    assert system.account.groups.filter(name=permissions.INTEGRATION).exists()
    assert not system.account.has_usable_password()
    services.sending_system_set_facilities(system=system, facilities=[facility_b])
    assert set(permissions.sender_facilities(system).values_list("code", flat=True)) == {"groote-schuur"}
    assert permissions.may_submit_for(system.account, facility_b)
    assert not permissions.may_submit_for(system.account, facility_a)
    directory = permissions.sender_directory()
    assert directory.named("hub").facilities == {"groote-schuur"}


@pytest.mark.django_db
def test_an_admin_registers_a_sending_system_and_its_facilities_in_the_admin(
    client, make_user, facility_a, facility_b
):
    admin = make_user("admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert client.get("/admin/referrals/sendingsystem/add/").status_code == 200
    response = client.post(
        "/admin/referrals/sendingsystem/add/",
        {
            "name": "clinicom-b",
            "account": "",
            "certificate_sha256": "AB:" * 31 + "AB",
            "certificate_subject": "clinicom-b",
            "active": "on",
            "note": "",
            "facilities": [facility_b.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    system = permissions.SendingSystem.objects.get(name="clinicom-b")
    assert system.certificate_sha256 == "ab" * 32
    assert permissions.sender_of(system).facilities == {"groote-schuur"}
    assert system.account.groups.filter(name="integration").exists()

    change = client.get(f"/admin/referrals/sendingsystem/{system.pk}/change/")
    assert change.status_code == 200
    response = client.post(
        f"/admin/referrals/sendingsystem/{system.pk}/change/",
        {
            "name": "clinicom-b",
            "account": system.account.pk,
            "certificate_sha256": system.certificate_sha256,
            "certificate_subject": "clinicom-b",
            "note": "",
            "facilities": [facility_a.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    system.refresh_from_db()
    assert not system.active
    assert permissions.sender_of(system).facilities == {"tygerberg"}
