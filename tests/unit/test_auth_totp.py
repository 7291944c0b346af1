"""TOTP steps and backup-code formats (no I/O: time is an argument)."""

import pyotp

from web.services import totp
from web.services.sessions import device_name

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_800_000_015.0  # inside step 60_000_000


def test_codes_of_the_current_and_neighbouring_steps_match_with_their_step():
    generator = pyotp.TOTP(SECRET)
    step = generator.timecode(NOW)
    for offset in (-1, 0, 1):
        assert totp.match_step(SECRET, generator.generate_otp(step + offset), NOW) == step + offset


def test_codes_two_steps_away_or_malformed_do_not_match():
    generator = pyotp.TOTP(SECRET)
    step = generator.timecode(NOW)
    assert totp.match_step(SECRET, generator.generate_otp(step + 2), NOW) is None
    assert totp.match_step(SECRET, generator.generate_otp(step - 2), NOW) is None
    code = generator.generate_otp(step)
    assert totp.match_step(SECRET, code[:5], NOW) is None
    assert totp.match_step(SECRET, "".join(chr(ord(c) + 0xFEE0) for c in code), NOW) is None  # full-width digits


def test_new_secrets_are_160_bit_base32():
    secret = totp.new_secret()
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def test_backup_codes_are_normalised_from_what_people_type():
    assert totp.normalize_backup_code("ABCDE-FGHJK-MNPQR") == "abcdefghjkmnpqr"
    assert totp.normalize_backup_code(" abcde fghjk mnpqr ") == "abcdefghjkmnpqr"
    assert totp.normalize_backup_code("Oabcd-efghj-kmnpI") == "0abcdefghjkmnp1"  # look-alikes fixed
    assert totp.normalize_backup_code("abcde-fghjk") is None
    assert totp.normalize_backup_code("abcde-fghjk-mnpqu") is None  # u is not in the alphabet
    assert totp.format_backup_code("abcdefghjkmnpqr") == "abcde-fghjk-mnpqr"


def test_qr_svg_is_an_inline_svg():
    svg = totp.qr_svg(pyotp.TOTP(SECRET).provisioning_uri(name="a@b.test", issuer_name="Broker"))
    assert (
        svg.startswith("<svg")
        and svg.rstrip().endswith("</svg>")
        and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    )


def test_device_names_are_short_and_human():
    assert (
        device_name("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/140.0 Safari/537.36 Edg/140.0")
        == "Edge on Windows"
    )
    assert (
        device_name("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Gecko/20100101 Firefox/130.0") == "Firefox on macOS"
    )
    assert (
        device_name("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/140.0 Mobile Safari/537.36")
        == "Chrome on Android"
    )
    assert device_name(None) == "Unknown device"
