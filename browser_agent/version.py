"""The agent's version and file-name pattern (no Django imports: settings import it)."""

AGENT_VERSION = "1.0.3"
# Versions released before it. Their built files stay in static/rumvault and are
# served as they were: a shop's script tag names its version, and an upgrade of
# rumvault must not break it (nor a Subresource Integrity hash taken of it).
RELEASED_VERSIONS = ("1.0.0", "1.0.1", "1.0.2")
AGENT_STATIC_PATH = f"rumvault/rum-{AGENT_VERSION}.js"
# Every version of the agent, for whitenoise's immutable-file test (matched on the URL).
AGENT_FILE_PATTERN = r"/rumvault/rum-\d+\.\d+\.\d+\.js$"
