"""2FA setup and a login with it; a KYC upload with progress; a deposit request."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.e2e.conftest import Platform
from tests.e2e.helpers import PASSWORD, login, register_verified_user, toast, wait_for_account

pytestmark = pytest.mark.e2e


def test_two_factor_setup_then_login_with_a_code(page: Any, platform: Platform) -> None:
    email = register_verified_user(platform, "twofa")
    login(page, email)
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Set up two-step verification").click()
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    qr.wait_for()
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Verification code").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    toast(page, "Two-step verification is on")
    codes = page.get_by_test_id("backup-codes").locator("li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert page.get_by_role("button", name="Download codes").is_visible()

    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("menuitem", name="Log out").click()
    page.get_by_role("heading", name="Log in").wait_for()

    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Two-step verification").wait_for()
    # A wrong code is refused with a clear message, and nothing else happens.
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    page.get_by_label("Verification code").fill(wrong)
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("alert").filter(has_text="The code is wrong or has expired").wait_for()
    # The code of the next 30 s step: within the ±1 step window, and never used before.
    page.get_by_label("Verification code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("navigation", name="Main").wait_for()
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("heading", name=re.compile("Two-step verification")).filter(has_text="On").wait_for()


def _pdf(path: Path) -> Path:
    """A small, real PDF document (the server sniffs the content)."""
    body = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
        + b"% padding so the upload takes a few progress events\n" * 20000
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    path.write_bytes(body)
    return path


def test_kyc_upload_shows_progress_and_lists_the_document(page: Any, platform: Platform, tmp_path: Path) -> None:
    email = register_verified_user(platform, "kyc")
    login(page, email)
    page.get_by_role("link", name="Verification").click()
    page.get_by_role("heading", name="Identity verification").wait_for()
    page.get_by_text("No documents uploaded yet.").wait_for()
    page.get_by_label("Document type").select_option("proof_of_address")
    page.get_by_label("File").set_input_files(str(_pdf(tmp_path / "utility-bill.pdf")))
    # Record every progress value the page shows while uploading.
    page.evaluate(
        """() => { window.__progress = []; new MutationObserver(() => {
             const bar = document.querySelector('[role=progressbar]');
             if (bar) window.__progress.push(bar.getAttribute('aria-valuenow')) })
           .observe(document.body, { subtree: true, childList: true, attributes: true }) }"""
    )
    page.get_by_role("button", name="Upload").click()
    toast(page, "utility-bill.pdf uploaded")
    documents = page.get_by_role("list", name="Your documents")
    item = documents.get_by_role("listitem").filter(has_text="Proof of address")
    item.wait_for()
    assert "Pending" in item.inner_text()
    progress = page.evaluate("window.__progress")
    assert progress, "the upload showed no progress bar"
    # A file of the wrong type is refused before anything is sent.
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    page.get_by_label("File").set_input_files(str(bad))
    page.get_by_role("alert").filter(has_text="Upload a PDF, JPEG or PNG file").wait_for()
    assert documents.get_by_role("listitem").count() == 1


def test_deposit_request_appears_in_the_history_as_pending(page: Any, platform: Platform) -> None:
    email = register_verified_user(platform, "deposit")
    login(page, email)
    wait_for_account(page)
    page.get_by_role("link", name="Funds").click()
    page.get_by_role("heading", name="Deposits and withdrawals").wait_for()
    form = page.get_by_role("form", name="Request a deposit")
    form.get_by_label(re.compile(r"^Amount")).fill("0")
    form.get_by_role("button", name="Request the deposit").click()
    form.get_by_role("alert").filter(has_text="Enter an amount above zero").wait_for()
    form.get_by_label(re.compile(r"^Amount")).fill("250.50")
    form.get_by_label("Method").select_option("card")
    form.get_by_role("button", name="Request the deposit").click()
    toast(page, "Deposit requested")
    history = page.get_by_role("region", name="Deposit requests")
    row = history.get_by_role("row").filter(has_text="$250.50")
    row.wait_for()
    assert "Pending" in row.inner_text()
    assert "Card" in row.inner_text()
    # The pending request can be cancelled by the client.
    row.get_by_role("button", name=re.compile("Cancel the request")).click()
    toast(page, "Request cancelled")
    history.get_by_role("row").filter(has_text="$250.50").filter(has_text="Cancelled").wait_for()
