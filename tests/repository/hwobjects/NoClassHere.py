"""A module that lacks the class named after it."""

VALUE = 1
