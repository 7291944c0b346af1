"""The relay's fan-out: bounded per-connection queues, the newest quote wins, events never silently lost."""

import json

from feed.fanout import Conn, Hub, encode_frame, quote_frame, quote_text


def _quote(symbol: str, n: int) -> str:
    return json.dumps({"symbol": symbol, "bid": f"1.{n:05d}", "ask": f"1.{n + 1:05d}", "ts": n})


def _payload(frame: bytes) -> dict:
    """Decode one unmasked server text frame."""
    assert frame[0] == 0x81
    size, start = frame[1], 2
    if size == 126:
        size, start = int.from_bytes(frame[2:4], "big"), 4
    elif size == 127:
        size, start = int.from_bytes(frame[2:10], "big"), 10
    assert len(frame) == start + size
    return json.loads(frame[start:])


def test_quote_frames_are_the_feed_json_with_a_type_in_front():
    text = quote_text(_quote("EURUSD", 7))
    assert json.loads(text) == {"type": "quote", "symbol": "EURUSD", "bid": "1.00007", "ask": "1.00008", "ts": 7}
    assert _payload(quote_frame(_quote("EURUSD", 7))) == json.loads(text)
    assert quote_frame("not json") is None and quote_frame("{}") is None


def test_frames_use_the_three_length_encodings_of_rfc_6455():
    for size, header in ((0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)):
        frame = encode_frame("x" * size)
        assert frame[0] == 0x81 and len(frame) == header + size
        assert frame[header:] == b"x" * size


def test_a_slow_connection_keeps_only_its_newest_quotes():
    conn = Conn(quote_max=5)
    for n in range(12):
        conn.push_quote(f"q{n}".encode())
    assert conn.dropped == 7
    assert conn.take() == [b"q7", b"q8", b"q9", b"q10", b"q11"]
    assert conn.take() == []


def test_account_events_are_never_dropped_an_overflow_marks_the_connection():
    conn = Conn(quote_max=2, private_max=3)
    for n in range(3):
        conn.push_private(f"e{n}".encode())
    conn.push_quote(b"q")
    assert not conn.overflowed
    conn.push_private(b"e3")
    assert conn.overflowed
    assert conn.take() == [b"e0", b"e1", b"e2", b"q"]  # private first, nothing reordered


def test_the_hub_fans_out_only_to_subscribers_and_a_full_queue_does_not_stop_others():
    hub = Hub("redis://unused")
    fast, slow, other = Conn(quote_max=1000), Conn(quote_max=3), Conn()
    for conn in (fast, slow):
        assert hub.join(conn, "md:quote:EURUSD")
    hub.join(other, "md:quote:BTCUSD")
    assert list(hub.ops) == ["md:quote:EURUSD", "md:quote:BTCUSD"]  # one Redis subscription per channel
    for n in range(100):
        hub.dispatch("md:quote:EURUSD", _quote("EURUSD", n))
    assert len(fast.take()) == 100
    received = [_payload(f)["ts"] for f in slow.take()]
    assert received == [97, 98, 99] and slow.dropped == 97
    assert other.take() == []


def test_leaving_the_last_subscriber_releases_the_channel():
    hub = Hub("redis://unused")
    a, b = Conn(), Conn()
    hub.join(a, "account:7")
    hub.join(b, "account:7")
    hub.ops.clear()
    hub.leave(a, "account:7")
    assert "account:7" in hub.channels and not hub.ops
    hub.detach(b)
    assert "account:7" not in hub.channels and list(hub.ops) == ["account:7"]


def test_account_events_are_forwarded_verbatim_and_status_reaches_everyone():
    hub = Hub("redis://unused")
    conn = Conn()
    hub.conns.add(conn)
    hub.join(conn, "account:42")
    event = '{"type":"order","account_id":42,"order":{"id":1,"price":"1.08000"}}'
    hub.dispatch("account:42", event)
    hub.set_mode("rest-fallback")
    hub.set_mode("rest-fallback")  # no change, no frame
    assert [_payload(f) for f in conn.take()] == [json.loads(event), {"type": "status", "feed": "rest-fallback"}]
    assert conn.account_ids == {42} and conn.symbols == set()


def _pair():
    from gevent import socket as gsocket

    from feed.fanout import LockedSocket

    server, client = gsocket.socketpair()
    server.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_SNDBUF, 4096)
    client.setblocking(False)
    return LockedSocket(server), client


def test_an_idle_connection_is_written_at_once_without_waking_its_sender():
    sock, peer = _pair()
    conn = Conn()
    conn.sock = sock
    frame = encode_frame('{"type":"quote","symbol":"EURUSD"}')
    conn.push_quote(frame)
    assert peer.recv(1024) == frame
    assert conn.take() == [] and not conn.wake.is_set()


def test_a_full_socket_falls_back_to_the_queue_keeping_the_order():
    sock, peer = _pair()
    conn = Conn(quote_max=1000)
    conn.sock = sock
    frames = [encode_frame(json.dumps({"n": n, "pad": "x" * 500})) for n in range(400)]
    for frame in frames:
        conn.push_quote(frame)
    assert conn.quotes, "the socket should have filled up"
    received = b""
    while True:
        try:
            chunk = peer.recv(65536)
        except BlockingIOError:
            break
        received += chunk
    pending = b"".join(conn.take())  # what the connection's sender would write next, in order
    assert received + pending == b"".join(frames)
