"""Echo client: sends a few objects to the echo server and prints what comes back."""
from multiprocessing.connection import Client

from seed_address import address_from_argv

address = address_from_argv()

VALUES = ['hello', 42, 2.25, None, True, b'\x00bytes', [1, 2], ('a', (1,)),
          {'k': [True, False]}, 2**100, [2.25, None, 'junk', float]]

with Client(address, authkey=b'peekaboo') as conn:
    for value in VALUES:
        conn.send(value)
        reply = conn.recv()
        assert reply == value, (reply, value)
        print(repr(reply), flush=True)
