"""An `x + y` server: every message is a pair (x, y); the reply is x + y."""
from multiprocessing.connection import Listener

from seed_address import address_from_argv, show

address = address_from_argv()

with Listener(address, authkey=b'secret password') as listener:
    print('listening on', show(listener.address), flush=True)
    while True:
        with listener.accept() as conn:
            try:
                while True:
                    x, y = conn.recv()
                    conn.send(x + y)
            except EOFError:
                pass
