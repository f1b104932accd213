"""Parses a file of JSON-RPC messages with python3-openvswitch's ovs.jsonrpc.Connection.

With a schema file as third argument, also turns every row of each update2 notification into typed values
(ovs.db.data.Datum.from_json per column, as the library's IDL does for the rows it keeps).

Prints: <messages> <bytes> <seconds> <parser> <error>
"""
import sys
import time

import ovs.db.data
import ovs.db.schema
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


def typed(tables, updates):
    """The rows of one update2's table-updates as {uuid: {column: Datum}}, as the IDL builds them."""
    rows = {}
    for table_name, table_update in updates.items():
        table = tables[table_name]
        for uuid, row_update in table_update.items():
            for kind in ("initial", "insert", "modify"):
                if kind in row_update:
                    rows[uuid] = {
                        column: ovs.db.data.Datum.from_json(table.columns[column].type, value)
                        for column, value in row_update[kind].items()
                    }
    return rows


def main():
    data = open(sys.argv[1], "rb").read()
    chunk = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    tables = None
    if len(sys.argv) > 3:
        tables = ovs.db.schema.DbSchema.from_json(ovs.json.from_file(sys.argv[3])).tables
    conn = ovs.jsonrpc.Connection(FileStream(data, chunk))
    count = 0
    start = time.perf_counter()
    while True:
        error, msg = conn.recv()
        if error:
            break
        count += 1
        if tables is not None:
            typed(tables, msg.params[1])
    # EOF is the expected end; anything else (e.g. EILSEQ) means the stream was not fully parsed.
    error = "EOF" if error == ovs.jsonrpc.EOF else str(error)
    elapsed = time.perf_counter() - start
    print(count, len(data), "%.6f" % elapsed, ovs.json.PARSER, error)


main()
