"""XML configuration: a safe lxml parser and the value conversion rules."""
