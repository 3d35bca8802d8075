"""Sextant CRM: six kinds of CRM, one instrument."""

__version__ = "0.1.0"
