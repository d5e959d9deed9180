"""rumvault-logging: mask log records in your process, ship them to rumvault over OTLP/HTTP.

import logging
from rumvault_logging import RumvaultHandler

logging.getLogger().addHandler(
    RumvaultHandler("https://rumvault.example.com", token, service_name="checkout",
                    host_group="eu-web")
)
"""

from rumvault_logging.handler import VERSION, RumvaultHandler, bind_session, current_session_id
from rumvault_logging.middleware import SessionIdMiddleware

__version__ = VERSION
__all__ = ["RumvaultHandler", "SessionIdMiddleware", "bind_session", "current_session_id"]
