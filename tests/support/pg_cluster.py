"""A throw-away PostgreSQL cluster for tests: `initdb` in a fresh directory, a free TCP
port on 127.0.0.1, the unix socket in that directory, `pg_ctl start -w`; stopped and
removed when done. Nothing outside the machine, no mock: Debian's `postgresql` package.

Python 3 standard library only. In-process:

    from pg_cluster import PgCluster
    with PgCluster() as pg:                  # or pg = PgCluster(); ...; pg.stop()
        url = pg.create_database("run_1")    # postgresql://stepwell@127.0.0.1:PORT/run_1
        pg.restart()                         # fast shutdown and start, same port
        pg.shutdown(); pg.start()            # away for a while, then back
        pg.kill(); pg.start()                # immediate stop (crash recovery on start)

As a process (the C++ store tests use this through popen):

    python3 pg_cluster.py start DIR [--owner-pid PID|parent]
        leaves it running; prints postgresql://stepwell@127.0.0.1:PORT/postgres, the
        database to connect to for CREATE DATABASE (also written to DIR/url)
    python3 pg_cluster.py createdb DIR NAME     prints the URL of a new empty database
    python3 pg_cluster.py stop DIR              stops it and removes DIR

DIR holds `pg_cluster.json` (port, where the data is), `url` and, when the postgres user
can reach it, the cluster itself; a DIR left by a killed run is stopped and wiped by the
next `start`. With an owner (`--owner-pid`, and always in-process) a detached watcher
stops and removes the cluster once the owner has exited, however it exited.

PostgreSQL refuses to run as root: when euid is 0, initdb, pg_ctl and the server run as
the `postgres` user (created by the Debian package) with `runuser`, on a directory made
theirs. Clients connect as the superuser `stepwell` over TCP with trust authentication.

Binaries: $STEPWELL_PG_BINDIR, else `pg_config --bindir`, else the newest
/usr/lib/postgresql/*/bin that has initdb.

Thread-safety: a PgCluster is not thread-safe; use it from one thread (create_database
may be called from several processes at once, PostgreSQL serialises them).
"""

import argparse
import glob
import hashlib
import json
import os
import re
import select
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SUPERUSER = "stepwell"
HOST = "127.0.0.1"
STATE_FILE = "pg_cluster.json"
URL_FILE = "url"  # what `start` printed, for processes that did not read its output

# Bounds.
START_ATTEMPTS = 5  # each on a new port, only when the port was taken meanwhile
PG_CTL_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 120
WATCH_INTERVAL_S = 0.5
# A unix socket path is at most 107 bytes; ".s.PGSQL.65535.lock" is the longest name.
MAX_SOCKET_DIR_LEN = 107 - len("/.s.PGSQL.65535.lock")

INITDB_ARGS = ("-U", SUPERUSER, "--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync",
               "--no-instructions")

DB_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Settings for tests on a small machine that still measure real durability: fsync and
# synchronous commit stay on. Several server instances each hold a connection pool, so
# max_connections is generous; shared_buffers is small since test databases are.
# Parallel query is off: on 2 cores its workers only compete with the servers.
SETTINGS = {
    "listen_addresses": HOST,
    "max_connections": "200",
    "shared_buffers": "64MB",
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "max_wal_size": "1GB",
    "max_parallel_workers_per_gather": "0",
    "huge_pages": "off",
    "timezone": "UTC",
    "log_timezone": "UTC",
}


class PgClusterError(RuntimeError):
    pass


def find_bindir():
    """The directory holding initdb, pg_ctl and createdb (see the module comment)."""
    candidates = []
    if os.environ.get("STEPWELL_PG_BINDIR"):
        candidates.append(os.environ["STEPWELL_PG_BINDIR"])
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                             timeout=10)
        if out.returncode == 0:
            candidates.append(out.stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        pass

    def version(path):
        match = re.search(r"/postgresql/(\d+)/bin$", path)
        return int(match.group(1)) if match else 0

    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version,
                             reverse=True))
    for bindir in candidates:
        if os.access(os.path.join(bindir, "initdb"), os.X_OK):
            return bindir
    raise PgClusterError("no PostgreSQL server binaries (initdb) found: install Debian's "
                         "postgresql package (make deps) or set STEPWELL_PG_BINDIR")


def free_port():
    """A port the kernel just handed out on 127.0.0.1; it may be taken again before the
    server binds it, which start() notices and retries."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _as_root():
    return os.geteuid() == 0


def _server_user_ids():
    import pwd

    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise PgClusterError("running as root and there is no `postgres` user to run "
                             "PostgreSQL as (install Debian's postgresql package)") from None
    return entry.pw_uid, entry.pw_gid


def _server_command(args):
    """`args` run as the user the server runs as."""
    if _as_root():
        return ["runuser", "-u", "postgres", "--", *args]
    return list(args)


def _run(args, *, cwd, what):
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=COMMAND_TIMEOUT_S)
    if proc.returncode != 0:
        raise PgClusterError(f"{what} failed ({proc.returncode}): {' '.join(args)}\n"
                             f"{proc.stdout}{proc.stderr}")
    return proc


def _make_servers(path):
    """Gives `path` to the server's user (when root) and closes it to everyone else."""
    os.chmod(path, 0o700)
    if _as_root():
        uid, gid = _server_user_ids()
        os.chown(path, uid, gid)


def _server_can_use(path):
    if len(path) > MAX_SOCKET_DIR_LEN:
        return False
    if not _as_root():
        return os.access(path, os.W_OK | os.X_OK)
    probe = subprocess.run(_server_command(["test", "-w", path, "-a", "-x", path]),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    return probe.returncode == 0


class PgCluster:
    """One PostgreSQL cluster, started by the constructor; see the module comment.

    `directory`: where the state (and if possible the cluster) lives; created if
    missing, wiped if a previous cluster's; default a new temporary directory.
    `owner_pid`: the process whose exit stops the cluster (default: this one; 0: none).
    """

    def __init__(self, directory=None, *, owner_pid=None, _state=None):
        self.bindir = None
        self.directory = None
        self.home = None  # holds data/, the socket and postgres.log; owned by the server
        self.port = None
        if _state is not None:
            self.__dict__.update(_state)
            return
        self.bindir = find_bindir()
        if directory is None:
            self.directory = tempfile.mkdtemp(prefix="stepwell-pg-")
        else:
            self.directory = os.path.abspath(directory)
            _prepare_directory(self.directory)
        try:
            self._init()
            self.start()
        except BaseException:
            self._remove_files()
            raise
        if owner_pid is None:
            owner_pid = os.getpid()
        if owner_pid:
            _spawn_watcher(self.directory, owner_pid)

    @classmethod
    def attach(cls, directory):
        """The cluster a `start DIR` left running."""
        path = os.path.join(os.path.abspath(directory), STATE_FILE)
        try:
            with open(path, encoding="utf-8") as f:
                state = json.load(f)
        except FileNotFoundError:
            raise PgClusterError(f"no cluster in {directory} (no {STATE_FILE})") from None
        if state.get("port") is None:
            raise PgClusterError(f"the cluster in {directory} never started")
        return cls(_state=state)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ addresses

    @property
    def data_dir(self):
        return os.path.join(self.home, "data")

    @property
    def log_path(self):
        return os.path.join(self.home, "postgres.log")

    @property
    def base_url(self):
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}"

    def url(self, dbname="postgres"):
        return f"{self.base_url}/{dbname}"

    # ------------------------------------------------------------------ lifecycle

    def _init(self):
        self.home = self.directory
        if not _server_can_use_after_giving(self.directory):
            # The server's user cannot reach DIR (e.g. under /root) or the socket path
            # would be too long: the cluster lives in a temporary directory instead.
            self.home = tempfile.mkdtemp(prefix="stepwell-pg-")
            _make_servers(self.home)
        self._save()
        template = _template(self.bindir)
        if template is None:
            _initdb(self.bindir, self.data_dir, cwd=self.home)
            return
        _run(_server_command(["cp", "-a", os.path.join(template, "data"), self.data_dir]),
             cwd=self.home, what="copying the template cluster")

    def start(self):
        """Starts the server (after kill() or a stop without removal); a port taken
        between choosing and binding it is retried on a new one, but a cluster that
        already had a port keeps it (URLs handed out stay valid)."""
        keep_port = self.port is not None
        for attempt in range(START_ATTEMPTS):
            if not keep_port:
                self.port = free_port()
            self._save()
            log_offset = _file_size(self.log_path)
            proc = subprocess.run(
                _server_command([os.path.join(self.bindir, "pg_ctl"), "start", "-w",
                                 "-t", str(PG_CTL_TIMEOUT_S), "-D", self.data_dir,
                                 "-l", self.log_path, "-o", self._server_options()]),
                cwd=self.home, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                timeout=PG_CTL_TIMEOUT_S + 30)
            if proc.returncode == 0:
                return self
            log = _read_from(self.log_path, log_offset)
            if "Address already in use" in log and attempt + 1 < START_ATTEMPTS:
                time.sleep(0.05 * (attempt + 1))
                continue
            raise PgClusterError(f"pg_ctl start failed ({proc.returncode}) on port "
                                 f"{self.port}:\n{proc.stdout}{proc.stderr}\n{log[-4000:]}")
        raise AssertionError("unreachable")

    def _server_options(self):
        settings = dict(SETTINGS, port=str(self.port), unix_socket_directories=self.home)
        # pg_ctl hands -o to a shell.
        return " ".join(f"-c {shlex.quote(f'{k}={v}')}" for k, v in settings.items())

    def running(self):
        proc = subprocess.run(
            _server_command([os.path.join(self.bindir, "pg_ctl"), "status", "-D",
                             self.data_dir]),
            cwd=self.home, capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
        return proc.returncode == 0

    def _pg_ctl_stop(self, mode):
        _run(_server_command([os.path.join(self.bindir, "pg_ctl"), "stop", "-w", "-t",
                              str(PG_CTL_TIMEOUT_S), "-D", self.data_dir, "-m", mode]),
             cwd=self.home, what=f"pg_ctl stop -m {mode}")

    def restart(self):
        """A clean restart on the same port: connections are closed, committed data
        stays. Starts the server if it was down."""
        if self.running():
            self._pg_ctl_stop("fast")
        return self.start()

    def shutdown(self):
        """A clean stop that keeps the files: connections are closed, start() brings the
        same cluster back on the same port."""
        self._pg_ctl_stop("fast")

    def kill(self):
        """An immediate stop, as a crash: no checkpoint, recovery on the next start()."""
        self._pg_ctl_stop("immediate")

    def stop(self, *, keep_files=False):
        """Stops the server (if running) and removes every file of the cluster; with
        `keep_files` (for debugging) shuts it down cleanly and leaves its files, no
        longer a cluster that `start` or a watcher would take over. Idempotent."""
        if self.directory is None:
            return
        try:
            if self.home and os.path.isdir(self.data_dir) and self.running():
                self._pg_ctl_stop("fast" if keep_files else "immediate")
        finally:
            if keep_files:
                os.unlink(os.path.join(self.directory, STATE_FILE))
                self.directory = None
            else:
                self._remove_files()

    def _remove_files(self):
        if self.home and self.home != self.directory:
            shutil.rmtree(self.home, ignore_errors=True)
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None

    def _save(self):
        state = {"bindir": self.bindir, "directory": self.directory, "home": self.home,
                 "port": self.port}
        _write_atomically(os.path.join(self.directory, STATE_FILE), json.dumps(state))

    # ------------------------------------------------------------------ databases

    def create_database(self, name):
        """A new empty database; returns its URL. `name`: lower case letters, digits and
        underscores."""
        if not DB_NAME_RE.match(name):
            raise ValueError(f"database name {name!r}: want [a-z_][a-z0-9_]{{0,62}}")
        _run([os.path.join(self.bindir, "createdb"), "-h", HOST, "-p", str(self.port),
              "-U", SUPERUSER, "-w", name], cwd=self.directory, what="createdb")
        return self.url(name)


def _initdb(bindir, data_dir, *, cwd):
    # --no-sync: the files initdb writes belong to a throw-away cluster; the server
    # itself runs with fsync on.
    _run(_server_command([os.path.join(bindir, "initdb"), "-D", data_dir, *INITDB_ARGS]),
         cwd=cwd, what="initdb")


def _template(bindir):
    """The directory of a cluster initdb made once per machine, binaries and user, which
    new clusters copy (initdb takes seconds, a copy a fraction of one); None when the
    server's user cannot reach the temporary directory. Made aside and renamed into
    place, so a concurrent or killed maker never leaves half a template."""
    version = _run([os.path.join(bindir, "initdb"), "--version"], cwd="/",
                   what="initdb --version").stdout.strip()
    key = hashlib.sha256("\n".join([bindir, version, str(os.geteuid()), *INITDB_ARGS])
                         .encode()).hexdigest()[:16]
    parent = tempfile.gettempdir()
    path = os.path.join(parent, f"stepwell-pg-template-{key}")
    if os.path.exists(os.path.join(path, "data", "PG_VERSION")):
        return path
    building = tempfile.mkdtemp(prefix=f"stepwell-pg-template-{key}.", dir=parent)
    try:
        if not _server_can_use_after_giving(building):
            return None
        _initdb(bindir, os.path.join(building, "data"), cwd=building)
        if os.path.exists(path) and not os.path.exists(os.path.join(path, "data",
                                                                    "PG_VERSION")):
            shutil.rmtree(path, ignore_errors=True)  # not ours to trust: made by hand
        try:
            os.rename(building, path)
        except OSError:
            pass  # another process put its template in place first
        return path
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _server_can_use_after_giving(path):
    _make_servers(path)
    return _server_can_use(path)


def _file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _read_from(path, offset):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            f.seek(offset)
            return f.read()
    except OSError:
        return ""


def _prepare_directory(directory):
    """Creates `directory`, or empties it when a previous cluster left it (stopping that
    cluster first); refuses a directory with anything else in it."""
    os.makedirs(directory, exist_ok=True)
    if not os.listdir(directory):
        return
    if not os.path.exists(os.path.join(directory, STATE_FILE)):
        raise PgClusterError(f"{directory} is neither empty nor a cluster's directory")
    try:
        PgCluster.attach(directory).stop()
    except PgClusterError:
        pass
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


# The watchers this process started: kept so that they are not reported as leaked.
_WATCHERS = []


def _write_atomically(path, text):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def _spawn_watcher(directory, owner_pid):
    _WATCHERS.append(subprocess.Popen([sys.executable, os.path.abspath(__file__), "_watch", directory,
                      str(owner_pid)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True))


def _watch(directory, owner_pid):
    """Waits for `owner_pid` to exit, then stops and removes the cluster unless it is
    gone already. A pidfd cannot be fooled by the pid being reused."""
    state = os.path.join(directory, STATE_FILE)
    try:
        fd = os.pidfd_open(owner_pid)
    except ProcessLookupError:
        fd = None
    try:
        while fd is not None and os.path.exists(state):
            if select.select([fd], [], [], WATCH_INTERVAL_S)[0]:
                break
    finally:
        if fd is not None:
            os.close(fd)
    if os.path.exists(state):
        try:
            PgCluster.attach(directory).stop()
        except PgClusterError:
            pass


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start a cluster in DIR; prints the URL of its "
                           "`postgres` database (also in DIR/url)")
    start.add_argument("dir")
    start.add_argument("--owner-pid", default="0",
                       help="stop and remove the cluster once this process has exited "
                       "(`parent`: the process that runs this command, e.g. ctest)")
    stop = sub.add_parser("stop", help="stop the cluster in DIR and remove DIR")
    stop.add_argument("dir")
    createdb = sub.add_parser("createdb", help="create a database; prints its URL")
    createdb.add_argument("dir")
    createdb.add_argument("name")
    watch = sub.add_parser("_watch")
    watch.add_argument("dir")
    watch.add_argument("owner_pid", type=int)
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            owner = os.getppid() if args.owner_pid == "parent" else int(args.owner_pid)
            url = PgCluster(args.dir, owner_pid=owner).url("postgres")
            _write_atomically(os.path.join(args.dir, URL_FILE), url + "\n")
            print(url, flush=True)
        elif args.command == "stop":
            if os.path.exists(os.path.join(args.dir, STATE_FILE)):
                PgCluster.attach(args.dir).stop()
            shutil.rmtree(args.dir, ignore_errors=True)
        elif args.command == "createdb":
            print(PgCluster.attach(args.dir).create_database(args.name), flush=True)
        elif args.command == "_watch":
            _watch(args.dir, args.owner_pid)
    except (PgClusterError, ValueError, OSError, subprocess.TimeoutExpired) as e:
        print(f"pg_cluster: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
