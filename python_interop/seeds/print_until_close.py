"""A listener that prints every message until it receives 'close'."""
from multiprocessing.connection import Listener

from seed_address import address_from_argv, show

address = address_from_argv()     # family is deduced from the address
listener = Listener(address, authkey=b'secret password')
print('listening on', show(listener.address), flush=True)
conn = listener.accept()
print('connection accepted from', listener.last_accepted, flush=True)
while True:
    msg = conn.recv()
    # do something with msg
    print(repr(msg), flush=True)
    if msg == 'close':
        conn.close()
        break
listener.close()
