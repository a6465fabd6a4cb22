"""The commands and channels of one hardware object."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any, Literal, overload

from ..errors import ConfigError, HardwareRepositoryError
from ._channel import ChannelObject
from ._command import CommandObject
from ._registry import get_type

__all__ = ["CommandContainer"]

log = logging.getLogger("HardwareRepository.commands")


class CommandContainer:
    """The commands and channels of one object (mixin of every hardware object).

    Hub thread only. Items are declared by the XML loader with ``add_now=False``
    and created by :meth:`create_declared_items` when the object is
    loaded (after its references, before ``init()``).
    """

    def __init__(self) -> None:
        self._commands: dict[str, CommandObject] = {}
        self._channels: dict[str, ChannelObject] = {}
        self._commands_order: list[str] = []
        self._channels_order: list[str] = []
        self._pending_items: list[tuple[str, dict[str, Any], str, int | None]] = []
        self._item_errors: dict[tuple[str, str], HardwareRepositoryError] = {}

    # Overridden by hardware objects.
    def get_property(self, name: str, default: Any = None) -> Any:
        """Return the property ``name`` (none in a bare container)."""
        return default

    def _where(self) -> tuple[str | None, str | None]:
        """Return (file, object name) for error messages."""
        return None, None

    # -- lookup ---------------------------------------------------------------
    def _missing(self, kind: str, name: str) -> HardwareRepositoryError:
        file, obj = self._where()
        error = self._item_errors.get((kind, str(name)))
        if error is not None:
            return ConfigError(
                f"{kind} {name!r} failed to load: {error}", file=file, obj=obj
            )
        known = self._channels if kind == "channel" else self._commands
        names = ", ".join(sorted(known)) or "none"
        return ConfigError(
            f"no {kind} named {name!r} (known: {names})", file=file, obj=obj
        )

    @overload
    def get_command_object(
        self, name: str, optional: Literal[False] = False
    ) -> CommandObject: ...

    @overload
    def get_command_object(self, name: str, optional: bool) -> CommandObject | None: ...

    def get_command_object(
        self, name: str, optional: bool = False
    ) -> CommandObject | None:
        """Return the command ``name``.

        :param optional: return ``None`` instead of raising when it is absent.
        :raises ConfigError: no such command, or it failed to load (the message
            carries the reason).
        """
        cmd = self._commands.get(name)
        if cmd is None and not optional:
            raise self._missing("command", name)
        return cmd

    @overload
    def get_channel_object(
        self, name: str, optional: Literal[False] = False
    ) -> ChannelObject: ...

    @overload
    def get_channel_object(self, name: str, optional: bool) -> ChannelObject | None: ...

    def get_channel_object(
        self, name: str, optional: bool = False
    ) -> ChannelObject | None:
        """Return the channel ``name``.

        :param optional: return ``None`` instead of raising when it is absent.
        :raises ConfigError: no such channel, or it failed to load (the message
            carries the reason).
        """
        chan = self._channels.get(name)
        if chan is None and not optional:
            raise self._missing("channel", name)
        return chan

    getCommandObject = get_command_object
    getChannelObject = get_channel_object

    def get_commands(self) -> Iterator[CommandObject]:
        """Yield the commands in configuration order."""
        for name in self._commands_order:
            if name in self._commands:
                yield self._commands[name]

    def get_channels(self) -> Iterator[ChannelObject]:
        """Yield the channels in configuration order."""
        for name in self._channels_order:
            if name in self._channels:
                yield self._channels[name]

    def get_command_names_list(self) -> list[str]:
        """Return the names of the commands."""
        return [c.name() for c in self.get_commands()]

    def get_channel_names_list(self) -> list[str]:
        """Return the names of the channels."""
        return [c.name() for c in self.get_channels()]

    def get_item_errors(self) -> dict[tuple[str, str], HardwareRepositoryError]:
        """Return the items that failed to be created: ``(kind, name) -> error``."""
        return dict(self._item_errors)

    # -- use ------------------------------------------------------------------
    def execute_command(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call command ``name`` (see :meth:`CommandObject.__call__`)."""
        return self.get_command_object(name)(*args, **kwargs)

    def get_channel_value(self, name: str, force: bool = False) -> Any:
        """Return the value of channel ``name``."""
        return self.get_channel_object(name).get_value(force)

    def set_channel_value(self, name: str, value: Any) -> None:
        """Write ``value`` to channel ``name``."""
        self.get_channel_object(name).set_value(value)

    executeCommand = execute_command
    getChannelValue = get_channel_value
    setChannelValue = set_channel_value

    # -- creation -------------------------------------------------------------
    def add_command(
        self,
        attributes: Mapping[str, Any],
        text: str | None = None,
        add_now: bool = True,
        *,
        line: int | None = None,
    ) -> CommandObject | None:
        """Declare (``add_now=False``) or create a command.

        :param attributes: the XML attributes: ``type`` and ``name`` required;
            ``arguments`` (list of dicts for :meth:`CommandObject.add_argument`)
            for the long notation; the rest goes to the type's factory.
        :param text: the element text (device command name).
        :param line: the XML line, for messages.
        :returns: the command when created now, else ``None``.
        :raises ConfigError: unknown type, or the factory failed (``add_now``).
        """
        return self._add_item("command", attributes, text, add_now, line)

    def add_channel(
        self,
        attributes: Mapping[str, Any],
        text: str | None = None,
        add_now: bool = True,
        *,
        line: int | None = None,
    ) -> ChannelObject | None:
        """Declare (``add_now=False``) or create a channel.

        See :meth:`add_command` for the parameters.
        """
        return self._add_item("channel", attributes, text, add_now, line)

    addCommand = add_command
    addChannel = add_channel

    def _add_item(
        self,
        kind: str,
        attributes: Mapping[str, Any],
        text: str | None,
        add_now: bool,
        line: int | None,
    ) -> Any:
        attrs = dict(attributes)
        if not add_now:
            self._pending_items.append((kind, attrs, text or "", line))
            return None
        return self._create_item(kind, attrs, text or "", line)

    def _create_item(
        self, kind: str, attrs: dict[str, Any], text: str, line: int | None
    ) -> Any:
        type_name = attrs.pop("type", None)
        name = attrs.pop("name", None)
        if name is None or name == "":
            file, obj = self._where()
            raise ConfigError(
                f"{kind} without a name= attribute", file=file, line=line, obj=obj
            )
        name = str(name)
        if type_name is None:
            file, obj = self._where()
            raise ConfigError(
                f"{kind} {name!r} has no type= attribute", file=file, line=line, obj=obj
            )
        arguments = attrs.pop("arguments", None) or []
        self._item_errors.pop((kind, name), None)
        try:
            provider = get_type(str(type_name))
            factory = getattr(provider, f"make_{kind}", None)
            if factory is None:
                raise ConfigError(f"type {type_name!r} has no {kind}s")
            self._inherit_device_names(provider, attrs)
            item = factory(name, text.strip(), attrs, self)
            for arg in arguments:
                item.add_argument(**arg)
        except Exception as exc:
            reason = exc.message if isinstance(exc, ConfigError) else repr(exc)
            file, obj = self._where()
            error = ConfigError(
                f"cannot create {type_name} {kind} {name!r}: {reason}",
                file=file,
                line=line,
                obj=obj,
            )
            self._item_errors[(kind, name)] = error
            raise error from exc
        table = self._channels if kind == "channel" else self._commands
        order = self._channels_order if kind == "channel" else self._commands_order
        old = table.get(name)
        if old is not None:
            old.close()
        else:
            order.append(name)
        table[name] = item
        return item

    def _inherit_device_names(self, provider: Any, attrs: dict[str, Any]) -> None:
        wanted = getattr(provider, "INHERITED_PROPERTIES", ())
        if not wanted:
            return
        pairs = (
            wanted.items()
            if isinstance(wanted, Mapping)
            else ((n, (n,)) for n in wanted)
        )
        for attr, prop_names in pairs:
            if attrs.get(attr) is not None:
                continue
            for prop in prop_names:
                value = self.get_property(prop)
                if value is not None:
                    attrs[attr] = value
                    break

    def create_declared_items(self) -> list[HardwareRepositoryError]:
        """Create the items declared with ``add_now=False``; return the errors.

        The loader calls it once the object's references are attached and
        before ``init()``, and reports the errors (one failing item never
        stops the others). Hub thread.
        """
        pending, self._pending_items = self._pending_items, []
        errors: list[HardwareRepositoryError] = []
        for kind, attrs, text, line in pending:
            try:
                self._create_item(kind, attrs, text, line)
            except HardwareRepositoryError as exc:
                errors.append(exc)
        return errors

    #: mxCuBE's name of :meth:`create_declared_items`
    _add_channels_and_commands = create_declared_items

    def close_commands_and_channels(self) -> None:
        """Close every channel and command (subscriptions, pollers, proxies).

        Hub thread. An item whose ``close()`` raises is logged with its
        traceback and the others are still closed.
        """
        for table in (self._channels, self._commands):
            for item in list(table.values()):
                try:
                    item.close()
                except Exception:
                    log.exception("closing %r failed", item)
