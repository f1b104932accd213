"""Parses a file of JSON-RPC messages with python3-openvswitch's ovs.jsonrpc.Connection.

Prints: <messages> <bytes> <seconds> <parser> <error>
"""
import sys
import time

import ovs.json
import ovs.jsonrpc


class FileStream:
    """Just enough of ovs.stream.Stream for Connection.recv()."""

    name = "file"

    def __init__(self, data, chunk):
        self.data = data
        self.pos = 0
        self.chunk = chunk

    def recv(self, n):
        n = max(n, self.chunk)
        piece = self.data[self.pos:self.pos + n]
        self.pos += len(piece)
        return 0, piece

    def close(self):
        pass


def main():
    data = open(sys.argv[1], "rb").read()
    chunk = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    conn = ovs.jsonrpc.Connection(FileStream(data, chunk))
    count = 0
    start = time.perf_counter()
    while True:
        error, msg = conn.recv()
        if error:
            break
        count += 1
    # EOF is the expected end; anything else (e.g. EILSEQ) means the stream was not fully parsed.
    error = "EOF" if error == ovs.jsonrpc.EOF else str(error)
    elapsed = time.perf_counter() - start
    print(count, len(data), "%.6f" % elapsed, ovs.json.PARSER, error)


main()
