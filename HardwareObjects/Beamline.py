"""The beamline object: the container built from ``beamline_config.yml``.

``HWR.beamline.energy`` is how mxCuBE code reaches the other objects. This
class needs nothing but this package: every role the YAML file attaches is an
attribute, and the roles mxCuBE code asks for that a site did not configure
are ``None`` (as mxcubecore's ``Beamline`` properties give), so code can test
``if HWR.beamline.flux is not None``. A site's own Beamline class (or
mxcubecore's, after :func:`HardwareRepository.compat.mxcubecore.install`)
works through the same loader.

Example ``beamline_config.yml``::

    class: Beamline.Beamline
    objects: !!omap
      - energy: energy.xml
      - safety_shutter: safety-shutter.xml
    configuration:
      tunable_wavelength: true
"""

from __future__ import annotations

from typing import Any, ClassVar

from HardwareRepository.BaseHardwareObjects import HardwareObject, HardwareObjectNode

__all__ = ["Beamline"]


class Beamline(HardwareObject):
    """The beamline: its configured roles as attributes (hub thread).

    :param name: the role (``"beamline"``).
    """

    #: the roles mxCuBE code uses (mxcubecore 2.x's Beamline); unconfigured ones
    #: read as ``None``, any other role configured in YAML works too.
    ROLES: ClassVar[tuple[str, ...]] = (
        "machine_info",
        "transmission",
        "cryo",
        "energy",
        "flux",
        "beam",
        "hutch_interlock",
        "safety_shutter",
        "fast_shutter",
        "diffractometer",
        "detector",
        "resolution",
        "sample_changer",
        "sample_changer_maintenance",
        "harvester",
        "harvester_maintenance",
        "plate_manipulator",
        "session",
        "lims",
        "sample_view",
        "queue_manager",
        "queue_model",
        "collect",
        "xrf_spectrum",
        "energy_scan",
        "imaging",
        "beamline_actions",
        "control_proxy",
        "xml_rpc_server",
        "workflow",
        "control",
        "gphl_workflow",
        "gphl_connection",
        "xray_centring",
        "online_processing",
        "offline_processing",
        "characterisation",
        "image_tracking",
        "procedure",
        "data_publisher",
    )

    def __getattr__(self, attr: str) -> Any:
        """Return the role ``attr``; ``None`` for a known role not configured."""
        try:
            return super().__getattr__(attr)
        except AttributeError:
            if attr in self.ROLES:
                return None
            raise

    @property
    def all_roles(self) -> tuple[str, ...]:
        """The roles configured, in load order."""
        return tuple(self._roles)

    def _hwr_init_done(self) -> None:
        """Hook run once the whole configuration is loaded (mxcubecore's name)."""

    def get_id(self, hwobj: HardwareObjectNode) -> str:
        """Return the dotted role path of ``hwobj`` (``"diffractometer.phi"``)."""
        return hwobj.id

    def get_hardware_object(self, dotted_id: str) -> HardwareObjectNode | None:
        """Return the object at role path ``dotted_id``, or ``None``."""
        return self.get_by_id(dotted_id)

    def force_emit_signals(self) -> None:
        """Make every configured object re-emit its values (mxcubeqt, at start).

        Each object once, the roles' own roles included.
        """
        seen: set[int] = {id(self)}
        pending = list(self._roles.values())
        while pending:
            node = pending.pop(0)
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, HardwareObject):
                node.force_emit_signals()
            pending.extend(node.objects_by_role.values())
