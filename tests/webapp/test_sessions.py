"""The signed-cookie session is opened only for a request that brings its cookie."""

from __future__ import annotations

from webapp.sessions import CookieSessions


def test_a_request_without_the_cookie_builds_no_signer_and_the_cookie_still_works(app, client, monkeypatch) -> None:
    built = []
    plain = CookieSessions.get_signing_serializer

    def counting(self, application):  # type: ignore[no-untyped-def]
        built.append(1)
        return plain(self, application)

    monkeypatch.setattr(CookieSessions, "get_signing_serializer", counting)
    assert isinstance(app.session_interface, CookieSessions)
    assert client.get("/api/v1/push/vapid-public-key").status_code == 200
    assert built == []  # no cookie: nothing to verify, and nothing saved
    page = client.get("/?lang=en")  # the language choice is kept in the session cookie
    assert page.status_code == 200 and len(built) == 1
    assert client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session")) is not None
    assert 'lang="en"' in client.get("/").get_data(as_text=True)  # read back from the cookie
    assert len(built) == 2  # with the cookie, the signer verifies it
