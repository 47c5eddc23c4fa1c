"""The client for print_until_close: sends arbitrary objects, then 'close'."""
from multiprocessing.connection import Client

from seed_address import address_from_argv

address = address_from_argv()
conn = Client(address, authkey=b'secret password')
# can also send arbitrary objects:
conn.send(['a', 2.5, None, int, sum])
conn.send('close')
conn.close()
