"""The client for send_objects: recv, recv_bytes, then recv_bytes_into an array."""
from multiprocessing.connection import Client
from array import array

from seed_address import address_from_argv

address = address_from_argv()

with Client(address, authkey=b'secret password') as conn:
    print(conn.recv())                  # => [2.25, None, 'junk', <class 'float'>]

    print(conn.recv_bytes())            # => b'hello'

    arr = array('i', [0, 0, 0, 0, 0])
    print(conn.recv_bytes_into(arr))    # => 8
    print(arr)                          # => array('i', [12, 33, 0, 0, 0])
