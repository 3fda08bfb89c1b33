"""The designer's sidebar signs in with a real account (the demo's), and keeps working
after the short-lived access token is renewed from the refresh token."""

from __future__ import annotations

import pytest

from config.settings import Settings
from lincah import demo
from tests.designer.conftest import free_port, open_app, serve


@pytest.fixture
def account_api(tmp_path, monkeypatch):
    settings = Settings(var_dir=tmp_path / "var", jwt_secret="x" * 40, api_port=free_port())
    demo.create_accounts(settings)
    server, thread = serve(settings)
    monkeypatch.setenv("LINCAH_API_URL", f"http://127.0.0.1:{settings.api_port}")
    try:
        yield settings
    finally:
        server.should_exit = True
        thread.join(10)


def test_sign_in_with_an_account_and_renew_an_expired_token(account_api):
    at = open_app("id")
    at.sidebar.text_input(key="login.email").set_value(demo.DEMO_ADMIN.login)
    at.sidebar.text_input(key="login.password").set_value("wrong password")
    at.sidebar.button(key="login.account").click().run()
    # The prefix is the designer's (Indonesian); the reason is the API's, as it comes.
    assert [e.value for e in at.error] == ["Masuk: the login or the password is not right"]

    at.sidebar.text_input(key="login.password").set_value(demo.DEMO_ADMIN.password)
    at.sidebar.button(key="login.account").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Masuk sebagai Ratna (agency_admin, BWI)" in c.value for c in at.sidebar.caption)
    first_refresh = at.session_state["refresh_token"]

    # The access token is no longer accepted: the page renews it and goes on.
    at.session_state["token"] = "expired"
    at.switch_page("views/catalogue.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["refresh_token"] != first_refresh
    assert at.session_state["token"] != "expired"

    at.sidebar.button(key="logout").click().run()
    assert "user" not in at.session_state
