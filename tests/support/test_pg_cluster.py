"""Checks the throw-away PostgreSQL cluster of tests/support/pg_cluster.py itself: it
starts, hands out empty databases, survives a restart and a crash with committed data,
runs with the settings the tests rely on, and leaves nothing behind."""

import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pg_cluster  # noqa: E402
from pg_cluster import PgCluster, PgClusterError  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pg_cluster.py")
WATCH_TIMEOUT_S = 30


def psql(cluster, dbname, sql):
    """Runs `sql` through psql on `dbname`; returns its unaligned output lines."""
    proc = subprocess.run([os.path.join(cluster.bindir, "psql"), "-X", "-A", "-t", "-q",
                           "-v", "ON_ERROR_STOP=1", "-d", cluster.url(dbname), "-c", sql],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"psql {sql!r}: {proc.stderr}")
    return proc.stdout.splitlines()


def cli(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                          timeout=180)


def server_pids(cluster):
    """The postmaster's pid, from postmaster.pid (None when there is none)."""
    try:
        with open(os.path.join(cluster.data_dir, "postmaster.pid"), encoding="utf-8") as f:
            return int(f.readline())
    except FileNotFoundError:
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(predicate, desc):
    deadline = time.monotonic() + WATCH_TIMEOUT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {desc}")
        time.sleep(0.05)


class PgClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PgCluster()
        cls.addClassCleanup(cls.pg.stop)

    def test_databases_are_empty_and_separate(self):
        a = self.pg.create_database("sep_a")
        b = self.pg.create_database("sep_b")
        self.assertEqual(a, f"postgresql://stepwell@127.0.0.1:{self.pg.port}/sep_a")
        psql(self.pg, "sep_a", "CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
        self.assertEqual(psql(self.pg, "sep_b", "SELECT count(*) FROM pg_tables "
                                                "WHERE schemaname = 'public'"), ["0"])
        self.assertEqual(b.rsplit("/", 1)[1], "sep_b")

    def test_a_taken_name_or_a_bad_name_is_refused(self):
        self.pg.create_database("taken")
        with self.assertRaises(PgClusterError):
            self.pg.create_database("taken")
        for bad in ("Upper", "semi;colon", "", "x" * 64, "1st"):
            with self.subTest(name=bad), self.assertRaises(ValueError):
                self.pg.create_database(bad)

    def test_settings_fit_for_tests(self):
        got = dict(row.split("|") for row in psql(
            self.pg, "postgres",
            "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', "
            "'synchronous_commit', 'max_connections', 'listen_addresses', "
            "'unix_socket_directories', 'TimeZone')"))
        self.assertEqual(got["fsync"], "on")
        self.assertEqual(got["synchronous_commit"], "on")
        self.assertGreaterEqual(int(got["max_connections"]), 200)
        self.assertEqual(got["listen_addresses"], "127.0.0.1")
        self.assertEqual(got["unix_socket_directories"], self.pg.home)
        self.assertEqual(got["TimeZone"], "UTC")
        self.assertEqual(psql(self.pg, "postgres", "SELECT current_user"), ["stepwell"])

    def test_committed_data_survives_a_restart_and_a_crash(self):
        self.pg.create_database("durable")
        psql(self.pg, "durable", "CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
        before = server_pids(self.pg)
        self.pg.restart()
        self.assertNotEqual(server_pids(self.pg), before)
        psql(self.pg, "durable", "INSERT INTO t VALUES (2)")
        self.pg.kill()
        self.assertFalse(self.pg.running())
        with self.assertRaises(AssertionError):
            psql(self.pg, "durable", "SELECT 1")
        self.pg.start()
        self.assertEqual(psql(self.pg, "durable", "SELECT x FROM t ORDER BY x"), ["1", "2"])
        self.assertTrue(self.pg.url("durable").endswith(f":{self.pg.port}/durable"))

    @unittest.skipUnless(os.geteuid() == 0, "only root must hand the cluster to postgres")
    def test_as_root_the_server_runs_as_postgres(self):
        import pwd

        pid = server_pids(self.pg)
        self.assertEqual(os.stat(f"/proc/{pid}").st_uid, pwd.getpwnam("postgres").pw_uid)
        self.assertEqual(os.stat(self.pg.data_dir).st_uid, pwd.getpwnam("postgres").pw_uid)


class LifecycleTest(unittest.TestCase):
    def test_stop_removes_everything_and_is_idempotent(self):
        pg = PgCluster()
        home, directory, pid = pg.home, pg.directory, server_pids(pg)
        self.assertTrue(alive(pid))
        with pg:
            pass
        self.assertFalse(os.path.exists(home))
        self.assertFalse(os.path.exists(directory))
        wait_until(lambda: not alive(pid), "the postmaster to exit")
        pg.stop()

    def test_a_taken_port_is_retried_on_a_new_one(self):
        import socket

        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        self.addCleanup(taken.close)
        ports = iter([taken.getsockname()[1]])
        real = pg_cluster.free_port
        pg_cluster.free_port = lambda: next(ports, None) or real()
        try:
            pg = PgCluster()
        finally:
            pg_cluster.free_port = real
        self.addCleanup(pg.stop)
        self.assertNotEqual(pg.port, taken.getsockname()[1])
        self.assertEqual(psql(pg, "postgres", "SELECT 1"), ["1"])

    def test_cli_start_createdb_stop(self):
        parent = tempfile.mkdtemp(prefix="stepwell-pg-cli-")
        self.addCleanup(lambda: cli("stop", os.path.join(parent, "c")) and os.rmdir(parent))
        directory = os.path.join(parent, "c")
        started = cli("start", directory)
        self.assertEqual(started.returncode, 0, started.stderr)
        url = started.stdout.strip()
        self.assertRegex(url, r"^postgresql://stepwell@127\.0\.0\.1:\d+/postgres$")
        with open(os.path.join(directory, "url"), encoding="utf-8") as f:
            self.assertEqual(f.read(), url + "\n")
        made = cli("createdb", directory, "conformance_1")
        self.assertEqual(made.returncode, 0, made.stderr)
        self.assertEqual(made.stdout.strip(), url.replace("/postgres", "/conformance_1"))
        pg = PgCluster.attach(directory)
        self.assertEqual(psql(pg, "conformance_1", "SELECT current_database()"),
                         ["conformance_1"])
        again = cli("createdb", directory, "conformance_1")
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("conformance_1", again.stderr)
        pid = server_pids(pg)
        stopped = cli("stop", directory)
        self.assertEqual(stopped.returncode, 0, stopped.stderr)
        self.assertFalse(os.path.exists(directory))
        wait_until(lambda: not alive(pid), "the postmaster to exit")

    def test_cli_start_wipes_a_stale_directory(self):
        directory = tempfile.mkdtemp(prefix="stepwell-pg-stale-")
        self.addCleanup(cli, "stop", directory)
        first = cli("start", directory)
        self.assertEqual(first.returncode, 0, first.stderr)
        old_pid = server_pids(PgCluster.attach(directory))
        # A run killed before its stop: the next start takes the directory over.
        second = cli("start", directory)
        self.assertEqual(second.returncode, 0, second.stderr)
        wait_until(lambda: not alive(old_pid), "the stale postmaster to exit")
        pg = PgCluster.attach(directory)
        self.assertEqual(psql(pg, "postgres", "SELECT 1"), ["1"])

    def test_cli_refuses_a_directory_that_is_not_a_clusters(self):
        directory = tempfile.mkdtemp(prefix="stepwell-pg-other-")
        self.addCleanup(lambda: os.unlink(os.path.join(directory, "mine")) or
                        os.rmdir(directory))
        with open(os.path.join(directory, "mine"), "w") as f:
            f.write("not a cluster")
        started = cli("start", directory)
        self.assertNotEqual(started.returncode, 0)
        self.assertIn("neither empty nor a cluster", started.stderr)
        self.assertTrue(os.path.exists(os.path.join(directory, "mine")))
        made = cli("createdb", directory, "x")
        self.assertNotEqual(made.returncode, 0)
        self.assertIn("no cluster", made.stderr)

    def test_the_owner_exiting_stops_and_removes_the_cluster(self):
        owner = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                                 stdin=subprocess.PIPE)
        directory = tempfile.mkdtemp(prefix="stepwell-pg-owned-")
        self.addCleanup(cli, "stop", directory)
        started = cli("start", directory, "--owner-pid", str(owner.pid))
        self.assertEqual(started.returncode, 0, started.stderr)
        self.assertClusterGoesWith(owner, directory)

    def test_the_parent_as_owner(self):
        """`--owner-pid parent`: as ctest runs a fixture's setup, the process that
        started the command owns the cluster."""
        directory = tempfile.mkdtemp(prefix="stepwell-pg-parent-")
        self.addCleanup(cli, "stop", directory)
        owner = subprocess.Popen(
            ["sh", "-c", f'"$0" "$1" start "$2" --owner-pid parent && read line',
             sys.executable, SCRIPT, directory], stdin=subprocess.PIPE)
        wait_until(lambda: os.path.exists(os.path.join(directory, "url")), "the start")
        self.assertClusterGoesWith(owner, directory)

    def assertClusterGoesWith(self, owner, directory):
        pid = server_pids(PgCluster.attach(directory))
        self.assertTrue(alive(pid))
        owner.kill()
        owner.wait()
        owner.stdin.close()
        wait_until(lambda: not os.path.exists(directory), "the watcher to remove the cluster")
        wait_until(lambda: not alive(pid), "the postmaster to exit")

if __name__ == "__main__":
    unittest.main()
