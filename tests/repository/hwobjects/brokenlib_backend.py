"""A command/channel type whose client library is not installed (test helper)."""

import pytine_client_library_not_installed  # noqa: F401


def make_channel(name, text, attrs, owner):
    raise AssertionError("never reached")
