"""What the HTTP servers say about themselves in ``Server``: a plain name, no server software or version.

Werkzeug's server (``make run``) sends ``Werkzeug/<version> Python/<version>`` and gunicorn sends ``gunicorn``;
an attacker reads them to pick known holes. The dev server uses ``RequestHandler``; gunicorn gets the same
through ``gunicorn.conf.py`` in the project folder (read from the working directory, or ``-c``).
"""

from __future__ import annotations

from werkzeug.serving import WSGIRequestHandler

SERVER_HEADER = "GridDesk"


class RequestHandler(WSGIRequestHandler):
    def version_string(self) -> str:
        return SERVER_HEADER


def hide_gunicorn_version() -> None:
    """gunicorn writes ``Server`` itself (an app's own header would be a second one); it reads this name."""
    import gunicorn.http.wsgi

    gunicorn.http.wsgi.SERVER = SERVER_HEADER  # type: ignore[attr-defined]
