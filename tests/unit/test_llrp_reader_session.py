"""The simulated reader's LLRP session against the agent's client session, both sans-I/O: the
whole start-up, an inventory with memory reads, and the goodbye, in memory with no socket."""

from __future__ import annotations

from edge_agent.llrp import Message, TagReport, encode_message
from edge_agent.llrp.inventory import OP_READ_TID, InventoryConfig
from edge_agent.llrp.session import ClientSession, Closed, InventoryRunning, Send, Tags
from sim.llrp_reader import LLRPReaderSim
from sim.llrp_session import Close, Keepalives, ReaderSession, StartInventory
from sim.llrp_session import Send as ReaderSend

EPC = bytes.fromhex("3034257BF7194E4000001A85")


def reader() -> ReaderSession:
    sim = LLRPReaderSim(antennas=2)  # its descriptions only: nothing is started
    return sim.session


def converse(client: ClientSession, session: ReaderSession, first: bytes) -> tuple[list[object], list[object]]:
    """Hand frames back and forth until both are quiet; (client events, reader actions)."""
    to_client, events, actions = [first], [], []
    while to_client:
        for event in client.receive_frame(to_client.pop(0)):
            events.append(event)
            if isinstance(event, Send):
                for action in session.receive_frame(event.frame):
                    actions.append(action)
                    if isinstance(action, ReaderSend):
                        to_client.append(action.frame)
    return events, actions


def test_the_agent_starts_an_inventory_on_the_simulated_reader_with_no_socket_between() -> None:
    session = reader()
    client = ClientSession(InventoryConfig(read_tid_words=2))
    events, actions = converse(client, session, session.greeting(0))
    assert any(isinstance(e, InventoryRunning) for e in events)
    (start,) = [a for a in actions if isinstance(a, StartInventory)]
    assert start.every_n >= 1 and start.selector.get("EnableAntennaID")
    assert any(isinstance(a, Keepalives) and a.every_s for a in actions)  # the client asked for keepalives
    [access] = session.access_for(start.rospec_id)
    assert access["IsActive"]  # the TID read the client configured
    seen = TagReport(EPC, antenna=1, peak_rssi=-50, reads=((OP_READ_TID, 0, b"\xe2\x80\x11\x05"),))
    tags = client.receive_frame(session.report([seen]))
    (report,) = [e for e in tags if isinstance(e, Tags)]
    assert report.reports[0].epc == EPC and report.reports[0].reads[0][2] == b"\xe2\x80\x11\x05"


def test_the_goodbye_stops_the_inventory_and_closes() -> None:
    session = reader()
    client = ClientSession()
    converse(client, session, session.greeting(0))
    actions = []
    for event in client.close():
        if isinstance(event, Send):
            actions += session.receive_frame(event.frame)
    assert isinstance(actions[-1], Close)
    replies = [a.frame for a in actions if isinstance(a, ReaderSend)]
    assert any(isinstance(e, Closed) for frame in replies for e in client.receive_frame(frame))


def test_a_message_the_reader_cannot_decode_gets_an_error_message_not_a_crash() -> None:
    session = reader()
    frame = encode_message(Message("GET_READER_CAPABILITIES", 77, {"RequestedData": 0}))
    (reply,) = session.receive_frame(frame[:10] + b"\x00" * 3)  # the header says more bytes than there are
    assert isinstance(reply, ReaderSend) and reply.frame[6:10] == (77).to_bytes(4, "big")


def _answer(frame: bytes) -> tuple[int, int, int, int]:
    """(version, message type, message id, LLRPStatus code) of a reader's answer, read by hand
    from the bytes as LLRP 1.0.1 §4 lays them out (not through our codec)."""
    import struct

    word, _length, msg_id = struct.unpack_from(">HII", frame)
    body = frame[10:]
    while body:  # the body's TLV parameters: find LLRPStatus (287)
        ptype, plen = struct.unpack_from(">HH", body)
        if ptype & 0x3FF == 287:
            return (word >> 10) & 7, word & 0x3FF, msg_id, struct.unpack_from(">H", body, 4)[0]
        body = body[plen:]
    raise AssertionError("no LLRPStatus in the answer")


def test_status_codes_are_the_specs() -> None:
    """A 1.1 client's first message (GET_SUPPORTED_VERSION, version 2 in the header) gets
    M_UnsupportedVersion (110), so it falls back to 1.0.1; a message type the reader does not
    know gets M_UnsupportedMessage (109); a ROSpec that does not exist, A_Invalid (300); a
    ROSpecID of 0, P_FieldError (201)."""
    import struct

    session = reader()
    get_supported_version = struct.pack(">HII", (2 << 10) | 46, 10, 7)
    [send] = session.receive_frame(get_supported_version)
    assert isinstance(send, ReaderSend) and _answer(send.frame) == (1, 100, 7, 110)  # ERROR_MESSAGE
    unknown_type = struct.pack(">HII", (1 << 10) | 999, 10, 8)
    [send] = session.receive_frame(unknown_type)
    assert isinstance(send, ReaderSend) and _answer(send.frame) == (1, 100, 8, 109)
    [send] = session.receive_frame(encode_message(Message("START_ROSPEC", 9, {"ROSpecID": 4242})))
    assert isinstance(send, ReaderSend) and _answer(send.frame)[2:] == (9, 300)
    no_id = {"ROSpec": {"ROSpecID": 0, "Priority": 0, "CurrentState": 0}}
    [send] = session.receive_frame(encode_message(Message("ADD_ROSPEC", 10, no_id)))
    assert isinstance(send, ReaderSend) and _answer(send.frame)[2:] == (10, 201)


def test_the_readers_config_carries_the_report_content_selector_inside_its_ro_report_spec() -> None:
    """LLRP requires a TagReportContentSelector in ROReportSpec: a strict decoder refuses a
    GET_READER_CONFIG_RESPONSE without it. Found by walking the answer's bytes."""
    import struct

    session = reader()
    request = {"AntennaID": 0, "RequestedData": 0, "GPIPortNum": 0, "GPOPortNum": 0}
    [send] = session.receive_frame(encode_message(Message("GET_READER_CONFIG", 5, request)))
    assert isinstance(send, ReaderSend)
    body, inside = send.frame[10:], None
    while body:
        ptype, plen = struct.unpack_from(">HH", body)
        if ptype & 0x3FF == 237:  # ROReportSpec: Trigger u8, N u16, then its sub-parameters
            sub = body[4 + 3 : plen]
            inside = struct.unpack_from(">H", sub)[0] & 0x3FF if sub else None
        body = body[plen:]
    assert inside == 238  # TagReportContentSelector


def test_select_filters_it_cannot_apply_are_refused_not_ignored() -> None:
    """The reader applies TagInventoryMasks with the default action; a truncated reply or
    state-aware filtering it does not keep is refused with M_UnsupportedParameter (111), so the
    client knows, instead of a reader that quietly reads every tag."""
    from edge_agent.llrp.inventory import InventoryConfig, rospec

    mask = {"MB": 1, "Pointer": 32, "TagMaskNumBits": 16, "TagMask": b"\x30\x34"}
    answers = []
    for n, (state_aware, truncate) in enumerate(((False, 0), (False, 2), (True, 0)), start=20):
        session, spec = reader(), rospec(InventoryConfig())
        command = {"TagInventoryStateAware": state_aware, "Filters": [{"T": truncate, "TagInventoryMask": mask}]}
        conf = {"AntennaID": 1, "C1G2InventoryCommand": command}
        spec["AISpecs"][0]["InventoryParameterSpecs"][0]["AntennaConfigurations"] = [conf]
        [send] = session.receive_frame(encode_message(Message("ADD_ROSPEC", n, {"ROSpec": spec})))
        assert isinstance(send, ReaderSend)
        answers.append(_answer(send.frame)[3])
    assert answers == [0, 111, 111]


def test_an_aispec_stops_after_n_attempts_and_reports_each_time() -> None:
    """TagObservationTrigger Upon_N_Attempts: the AISpec ends after N inventory rounds, its
    report (N = 0, trigger end of AISpec) is sent, and it runs again."""
    from sim.llrp_inventory import InventoryRun

    spec = {
        "AISpecs": [{"StopTrigger": {"Trigger": 3, "TagObservationTrigger": {"Trigger": 2, "NumberOfAttempts": 4}}}]
    }
    run = InventoryRun(spec, 0.0, {"Trigger": 1, "N": 0}, rounds=100)
    ends = []
    for step in range(12):  # a round per step, the tag read in each
        assert run.reads([TagReport(EPC, antenna=1, peak_rssi=-50, first_seen_us=step)], step) == []
        ends += run.tick(float(step), rounds=101 + step)
    assert [[(r.epc, r.seen_count) for r in batch] for batch in ends] == [[(EPC, 4)]] * 3
