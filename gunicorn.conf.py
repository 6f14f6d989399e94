"""gunicorn's settings for GridDesk; gunicorn reads ./gunicorn.conf.py by itself (or give ``-c gunicorn.conf.py``)."""

from webapp.serving import hide_gunicorn_version

hide_gunicorn_version()
