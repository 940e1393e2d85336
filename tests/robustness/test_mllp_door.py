"""Issue 11, findings 5(e), 5(g), 5(i): the MLLP listener's door.

Every answer echoes the sender's MSH-10 and says with an HL7 table 0357 code in ERR whether to resend
later (AR 207) or fix the message first; a frame whose end block never came is answered AE on its
own and does not swallow the next message; idle connections and half-sent frames time out and the
number of connections is capped. Against the real ``mllp_listen`` (a subprocess on the test
database) in plain MLLP, allow-listed for the loopback, as the registered sender of Tygerberg.
"""

import contextlib
import socket
import time

import pytest

from casework.models import Facility
from referrals.intake import receive
from referrals.mllp import MAX_MESSAGE, resend_later
from referrals.models import Admission, InboundMessage
from tests.referrals.helpers import adt, err, msa
from tests.security.test_intake_auth import listen, wait_for  # noqa: F401  (``listen`` is a fixture)

SB, END = b"\x0b", b"\x1c\x0d"


def on_the_listener(test):
    """Against the real listener process: committed rows on PostgreSQL, reference data restored after."""
    return pytest.mark.postgres(pytest.mark.django_db(transaction=True, serialized_rollback=True)(test))


@pytest.fixture
def sender(make_sender):
    return make_sender("hectis-door", facilities=[Facility.objects.get(code="tygerberg")])


@pytest.fixture
def door(listen, sender):  # noqa: F811  (the imported fixture)
    """``door(*options)``: a plain listener for 127.0.0.1 as the sender; its port."""

    def start(*options) -> int:
        return listen("--plain", "--plain-allow", "127.0.0.1", "--plain-sender", sender.name, *options)

    return start


def read_answers(sock: socket.socket, count: int) -> list[str]:
    """The next ``count`` ACK frames on this connection (fewer when it is closed first)."""
    data, answers = b"", []
    while len(answers) < count:
        while END not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return answers
            data += chunk
        one, data = data.split(END, 1)
        answers.append(one.lstrip(SB).decode())
    return answers


def send(port: int, payload: bytes, answers: int = 1) -> list[str]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(payload)  # a too-large frame is answered and closed before it is all sent
        return read_answers(sock, answers)


def closed_by_the_listener(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@on_the_listener
def test_a_message_too_large_is_refused_with_its_own_control_id_and_a_permanent_code(door):
    port = door()
    message = adt(control="BIG1").encode() + b"X" * (MAX_MESSAGE + 10)
    (answer,) = send(port, SB + message + END)
    assert msa(answer)[1:3] == ["AR", "BIG1"]
    assert "|102^" in err(answer)
    assert not InboundMessage.objects.filter(control_id="BIG1").exists()


def test_resend_later_echoes_the_control_id_and_is_the_only_answer_coded_207():
    answer = resend_later(adt(control="BUSY1")).strip(SB + END).decode()
    assert msa(answer)[1:3] == ["AR", "BUSY1"]
    assert "|207^Application internal error^HL70357|" in err(answer)
    assert "|102^" in err(receive.refusal_ack(adt(control="BIG2"), receive.TOO_LARGE))


@on_the_listener
def test_an_unknown_facility_and_a_missing_field_are_told_apart_by_their_err_codes(door):
    port = door()
    unknown, missing = send(
        port,
        SB
        + adt(control="UNK1", facility="nowhere").encode()
        + END
        + SB
        + adt(control="MIS1", visit="").encode()
        + END,
        answers=2,
    )
    assert msa(unknown)[1:3] == ["AR", "UNK1"]
    assert err(unknown).split("|")[2:4] == ["MSH^1^4", "204^Unknown key identifier^HL70357"]
    assert msa(missing)[1:3] == ["AE", "MIS1"]
    assert err(missing).split("|")[2:4] == ["PV1^1^19", "101^Required field missing^HL70357"]
    assert set(InboundMessage.objects.values_list("control_id", "status")) == {
        ("UNK1", "rejected"),
        ("MIS1", "rejected"),
    }


@on_the_listener
def test_a_frame_without_its_end_block_is_answered_ae_and_the_next_message_is_read_on_its_own(door):
    """(A stray start block with nothing after it is skipped, not answered.)"""
    port = door()
    broken = adt(control="CUT1", visit="VCUT", obx={"TRIAGE": "GREEN", "ROLE": "victim"}, codes=("X99.0",))
    good = adt(control="GOOD1", visit="VGOOD", obx={"TRIAGE": "RED", "ROLE": "perpetrator"}, codes=("X95.0",))
    first, second = send(port, SB + SB + broken.encode() + SB + good.encode() + END, answers=2)
    assert msa(first)[1:3] == ["AE", "CUT1"]
    assert "|100^" in err(first)
    assert msa(second)[1:3] == ["AA", "GOOD1"]
    cut = InboundMessage.objects.get(control_id="CUT1")
    assert cut.status == "rejected" and "VCUT" in cut.raw
    assert wait_for(lambda: Admission.objects.filter(visit_number="VGOOD").exists())
    stored = Admission.objects.get(visit_number="VGOOD")
    assert (stored.triage, stored.role, stored.mechanism) == ("red", "perpetrator", "firearm")
    assert not Admission.objects.filter(visit_number="VCUT").exists()


@on_the_listener
def test_an_idle_connection_and_a_half_sent_frame_are_closed_after_their_time_limits(door):
    port = door("--idle-seconds", "1", "--frame-seconds", "2")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
        began = time.monotonic()
        assert closed_by_the_listener(idle)
        assert 0.8 < time.monotonic() - began < 5
    with socket.create_connection(("127.0.0.1", port), timeout=10) as half:
        began = time.monotonic()
        half.sendall(SB + adt(control="HALF1").encode()[:200])
        for _ in range(3):  # a byte now and then does not keep a frame open past its limit
            time.sleep(0.5)
            half.sendall(b"X")
        assert closed_by_the_listener(half)
        assert 1.5 < time.monotonic() - began < 6
    assert not InboundMessage.objects.filter(control_id="HALF1").exists()


@on_the_listener
def test_connections_beyond_the_cap_are_closed_at_once_and_the_others_still_served(door):
    port = door("--max-connections", "2")
    time.sleep(0.5)  # the start-up probe's connection is gone
    first = socket.create_connection(("127.0.0.1", port), timeout=10)
    second = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        time.sleep(0.5)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as extra:
            assert closed_by_the_listener(extra)
        first.sendall(SB + adt(control="CAP1").encode() + END)
        assert msa(read_answers(first, 1)[0])[1:3] == ["AA", "CAP1"]
    finally:
        first.close()
        second.close()
    time.sleep(0.5)
    assert msa(send(port, SB + adt(control="CAP2", visit="V0002").encode() + END)[0])[1:3] == ["AA", "CAP2"]
