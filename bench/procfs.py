"""Reading processes' `stat` files under /proc, for bench/run.py and bench/pg.py (CPU
time, children of the server, whether a process is gone).

Standard library only; stateless, so safe from any thread.
"""

import os


def read_stat(path):
    """(command name, fields after the name) of a /proc/.../stat file, or None when the
    process is gone. fields[0] is the state, fields[1] the parent's pid, fields[11] and
    fields[12] utime and stime, fields[13] and fields[14] those of reaped children."""
    try:
        with open(path) as f:
            raw = f.read()
    except OSError:
        return None
    return raw[raw.find("(") + 1:raw.rfind(")")], raw.rsplit(")", 1)[1].split()


def each_process():
    """(pid, command name, fields) of every process alive now."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = read_stat(f"/proc/{entry}/stat")
        if stat is not None:
            yield int(entry), stat[0], stat[1]
