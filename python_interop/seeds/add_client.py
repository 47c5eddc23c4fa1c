"""The client for the `x + y` server: sends pairs and prints each sum."""
from multiprocessing.connection import Client

from seed_address import address_from_argv

address = address_from_argv()

PAIRS = [(1, 2), (-7, 7), (2.5, 0.25), (1, 0.5), ('abc', 'def'), (b'ab', b'cd'),
         ([1], [2, 3]), ((1,), (2,)), (2**62, 2**62), (2**100, -2**100)]

with Client(address, authkey=b'secret password') as conn:
    for x, y in PAIRS:
        conn.send((x, y))
        print(repr(conn.recv()), flush=True)
