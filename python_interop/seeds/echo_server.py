"""Echo server: answers every message with the same object (authkey b'peekaboo')."""
from multiprocessing.connection import Listener
from multiprocessing import AuthenticationError

from seed_address import address_from_argv, show

address = address_from_argv()

with Listener(address, authkey=b'peekaboo') as listener:
    print('listening on', show(listener.address), flush=True)
    while True:
        try:
            conn = listener.accept()
        except AuthenticationError as e:
            print('refused:', e, flush=True)
            continue
        with conn:
            print('connection accepted from', listener.last_accepted, flush=True)
            try:
                while True:
                    conn.send(conn.recv())
            except EOFError:
                pass
