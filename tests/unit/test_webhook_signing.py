"""Our Standard Webhooks signer and verifier against the standardwebhooks library (WH-11)."""

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from common.webhook_signing import (
    InboundRefused,
    active_secrets,
    delivery_headers,
    new_secret,
    seal,
    secret_bytes,
    sign,
    signature_header,
    unseal,
    verify_inbound,
)

BODY = json.dumps(
    {"type": "user.created", "timestamp": "2026-11-29T10:00:00.000Z", "data": {"id": 7}}, separators=(",", ":")
)
MATERIAL = "unit-test-key-material-0123456789abcdef"


def _headers(secrets, msg_id="msg_test", ts=None, body=BODY):
    return delivery_headers(secrets, msg_id, int(time.time()) if ts is None else ts, body.encode())


def test_a_new_secret_is_whsec_with_32_random_bytes():
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_the_library_verifies_our_signature():
    secret = new_secret()
    headers = _headers([secret])
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["webhook-timestamp"].isdigit()


def test_a_wrong_secret_or_a_changed_body_is_refused_by_the_library():
    secret = new_secret()
    headers = _headers([secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace('"id":7', '"id":8'), headers)


def test_rotation_sends_both_signatures_separated_by_one_space_and_each_secret_verifies():
    old, new = new_secret(), new_secret()
    headers = _headers([new, old])
    value = headers["webhook-signature"]
    assert value.count(" ") == 1 and "  " not in value and not value.endswith(" ")
    assert Webhook(old).verify(BODY, headers)["data"] == {"id": 7}
    assert Webhook(new).verify(BODY, headers)["data"] == {"id": 7}


def test_unpadded_secret_signs_like_the_padded_one():
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode().rstrip("=")
    ts = int(time.time())
    assert sign(secret, "msg_1", ts, BODY.encode()) == sign(secret + "=", "msg_1", ts, BODY.encode())
    assert Webhook(secret).verify(BODY, _headers([secret], ts=ts))


def test_a_timestamp_in_milliseconds_would_be_refused_so_we_send_seconds():
    secret = new_secret()
    ms = int(time.time() * 1000)
    bad = {"webhook-id": "m", "webhook-timestamp": str(ms), "webhook-signature": sign(secret, "m", ms, BODY.encode())}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, bad)
    assert len(_headers([secret])["webhook-timestamp"]) == 10


def test_a_short_or_non_base64_secret_is_refused():
    with pytest.raises(ValueError):
        secret_bytes("whsec_" + base64.b64encode(b"short").decode())
    with pytest.raises(ValueError):
        secret_bytes("whsec_not base64!")


def test_secrets_at_rest_are_sealed_and_the_previous_one_signs_only_during_its_overlap():
    current, previous = new_secret(), new_secret()
    sealed_current, sealed_previous = seal(current, MATERIAL), seal(previous, MATERIAL)
    assert current not in sealed_current and unseal(sealed_current, MATERIAL) == current
    now = datetime.now(UTC)
    during = active_secrets(sealed_current, sealed_previous, now + timedelta(hours=1), MATERIAL, now)
    after = active_secrets(sealed_current, sealed_previous, now - timedelta(seconds=1), MATERIAL, now)
    assert during == [current, previous]
    assert after == [current]
    with pytest.raises(ValueError):
        unseal(sealed_current, "another-key-material-0123456789abcdef")


# --- inbound verification -------------------------------------------------------------------


def _signed(secret, body=BODY, msg_id="msg_in_1", ts=None):
    ts = int(time.time()) if ts is None else ts
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": signature_header([secret], msg_id, ts, body.encode()),
    }


def test_inbound_accepts_any_configured_secret_during_rotation():
    old, new = new_secret(), new_secret()
    verified = verify_inbound(BODY.encode(), _signed(old), [new, old])
    assert verified.webhook_id == "msg_in_1" and verified.body == BODY


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda h: h.pop("webhook-signature"), "missing_headers"),
        (lambda h: h.update({"webhook-timestamp": str(int(time.time()) - 301)}), "stale"),
        (lambda h: h.update({"webhook-timestamp": str(int(time.time()) + 301)}), "stale"),
        (lambda h: h.update({"webhook-timestamp": "yesterday"}), "bad_timestamp"),
        (lambda h: h.update({"webhook-signature": "v1,AAAA"}), "bad_signature"),
        # The library lets ValueError escape for these; we refuse them like any bad signature.
        (lambda h: h.update({"webhook-signature": "v1,AAAA  " + h["webhook-signature"]}), "bad_signature"),
        (lambda h: h.update({"webhook-signature": "v1=" + h["webhook-signature"][3:]}), "bad_signature"),
    ],
)
def test_inbound_refusals_name_their_reason(change, reason):
    secret = new_secret()
    headers = _signed(secret)
    change(headers)
    with pytest.raises(InboundRefused) as refused:
        verify_inbound(BODY.encode(), headers, [secret])
    assert refused.value.reason == reason


def test_inbound_with_a_changed_body_is_a_bad_signature():
    secret = new_secret()
    with pytest.raises(InboundRefused) as refused:
        verify_inbound(BODY.replace("7", "8").encode(), _signed(secret), [secret])
    assert refused.value.reason == "bad_signature"


def test_inbound_without_configured_secrets_is_refused():
    with pytest.raises(InboundRefused) as refused:
        verify_inbound(BODY.encode(), _signed(new_secret()), [])
    assert refused.value.reason == "no_secret"


def test_the_outbox_body_is_minified_utf8_json_even_for_integers_beyond_64_bits():
    import json
    from datetime import UTC, datetime

    from common.outbox import encode_payload

    when = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    body = encode_payload("user.updated", {"id": 7, "first_name": "Zoë", "limits": {"max": 2**70}}, when)
    assert json.loads(body) == {
        "type": "user.updated",
        "timestamp": "2026-12-04T10:00:00.000Z",
        "data": {"id": 7, "first_name": "Zoë", "limits": {"max": 2**70}},
    }
    assert " " not in body and "Zoë" in body
    plain = encode_payload("user.updated", {"id": 7, "first_name": "Zoë"}, when)
    assert plain == '{"type":"user.updated","timestamp":"2026-12-04T10:00:00.000Z","data":{"id":7,"first_name":"Zoë"}}'


def _ulid_reference(value: int) -> str:
    """The message id's digits the long way: 26 base-32 digits of the low 130 bits, Crockford's alphabet."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(alphabet[rem])
    return "".join(reversed(chars))


def test_message_ids_are_ulid_digits_that_sort_by_time():
    from hypothesis import given
    from hypothesis import strategies as st

    from common.outbox import new_msg_id, ulid_text

    @given(st.integers(min_value=0, max_value=(1 << 130) - 1))
    def same_digits(value: int) -> None:
        assert ulid_text(value) == _ulid_reference(value)

    same_digits()
    assert ulid_text(0) == "0" * 26 and ulid_text((1 << 128) - 1) == "7" + "Z" * 25  # 48 + 80 bits
    earlier, later = new_msg_id(1_764_000_000_000), new_msg_id(1_764_000_000_001)
    assert earlier.startswith("msg_") and len(earlier) == 30
    assert earlier < later  # the time leads: ids sort by creation
    assert new_msg_id(1_764_000_000_000) != earlier  # 80 random bits follow
