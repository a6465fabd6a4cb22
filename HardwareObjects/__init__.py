"""The built-in hardware-object classes named in XML (``class="TangoMotor"``).

Each module holds the class of its name. The repository searches the
directories given as ``hardware_objects_dirs`` (and
``CUSTOM_HARDWARE_OBJECTS_PATH``) before this package, so a site can shadow a
class here with its own.
"""
