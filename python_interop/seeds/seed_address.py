"""Addresses for the seed programs: the docs' ('localhost', 6000) unless argv[1] names one.

argv[1] uses mpconn's forms: HOST:PORT, [IPV6]:PORT, a path containing '/', or @NAME for
the Linux abstract namespace. Port 0 picks a free port; the servers print the real address
as their first line ('listening on ...') so a harness can wait for it.
"""
import sys

DEFAULT = ('localhost', 6000)


def address_from_argv(default=DEFAULT):
    if len(sys.argv) < 2:
        return default
    text = sys.argv[1]
    if text.startswith('@'):
        return '\0' + text[1:]
    if '/' in text:
        return text
    host, _, port = text.rpartition(':')
    return (host.strip('[]'), int(port))


def show(address):
    """The inverse of address_from_argv."""
    if isinstance(address, tuple):
        host, port = address[0], address[1]
        return f'[{host}]:{port}' if ':' in host else f'{host}:{port}'
    if isinstance(address, bytes):
        address = address.decode()
    if address.startswith('\0'):
        return '@' + address[1:]
    return address
