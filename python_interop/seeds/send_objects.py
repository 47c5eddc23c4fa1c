"""A listener that sends an object, some bytes, and the bytes of an array, then closes."""
from multiprocessing.connection import Listener
from array import array

from seed_address import address_from_argv, show

address = address_from_argv()     # family is deduced to be 'AF_INET'

with Listener(address, authkey=b'secret password') as listener:
    print('listening on', show(listener.address), flush=True)
    with listener.accept() as conn:
        print('connection accepted from', listener.last_accepted, flush=True)

        conn.send([2.25, None, 'junk', float])

        conn.send_bytes(b'hello')

        conn.send_bytes(array('i', [12, 33]))
