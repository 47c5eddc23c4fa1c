"""CPython's own SyncManager, served in this process: the reference the Rust manager's
typeids are compared with (python_interop/test_managers_typeids.py).

Usage: python sync_manager_server.py AUTHKEY

Prints "READY 127.0.0.1:PORT" once listening; serves until a client sends 'shutdown'.
"""
import sys
from multiprocessing.managers import SyncManager

from _common import format_address


def main():
    manager = SyncManager(address=("127.0.0.1", 0), authkey=sys.argv[1].encode())
    server = manager.get_server()
    print("READY %s" % format_address(server.address), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
