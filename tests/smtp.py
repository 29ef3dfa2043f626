"""Pytest plugin: a real SMTP server (aiosmtpd) on 127.0.0.1, and an app that sends to it."""

import socket
import threading
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from clinic.extensions import mail


class Collector(MessageHandler):
    """Keep every message received and wake whoever waits for them."""

    def __init__(self):
        super().__init__()
        self.received: list[Message] = []
        self.arrived = threading.Condition()

    def handle_message(self, message: Message) -> None:
        with self.arrived:
            self.received.append(message)
            self.arrived.notify_all()


class SMTPServer:
    """An SMTP server that tests may stop and start again on the same port."""

    def __init__(self):
        self.port = _free_port()
        self.handler = Collector()
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[Message]:
        """Return a copy of the messages received so far."""
        with self.handler.arrived:
            return list(self.handler.received)

    def start(self) -> None:
        # A stopped controller has closed its event loop: each start needs a new one.
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, timeout: float = 10) -> list[Message]:
        """Wait until at least `count` messages have arrived; return them all."""
        with self.handler.arrived:
            arrived = self.handler.arrived.wait_for(
                lambda: len(self.handler.received) >= count, timeout
            )
            if not arrived:
                raise AssertionError(f"{len(self.handler.received)} of {count} e-mails arrived")
            return list(self.handler.received)


def _free_port() -> int:
    """Pick a free port first: Controller(port=0) fails in aiosmtpd 1.4.6."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(app, smtp_server):
    """The test app, sending real e-mail to `smtp_server`."""
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        MAIL_USE_TLS=False,
        MAIL_USE_SSL=False,
        MAIL_USERNAME=None,
        MAIL_PASSWORD=None,
        MAIL_DEFAULT_SENDER="ProHealth Clinic <no-reply@prohealth.test>",
        MAIL_TIMEOUT=5,
        MAIL_SUPPRESS_SEND=False,  # TESTING would otherwise suppress sending
    )
    mail.init_app(app)  # Flask-Mail 0.10 copies its settings in init_app: read them again
    return app
