"""Backup and restore (docs/operations.md, "Backup and restore"): `stepwell backup` of a
data directory while its server takes runs, `stepwell restore` into a new directory,
and a server on the restored copy.

Under load: a thread starts runs one after another; every run the server acknowledged
(201) before the backup command started must be on the restored server, the restored
server holds no run the original never acknowledged, and it works (a run parked on an
event before the backup goes on there; a new run completes). Refusals: a missing data
directory, a directory without a store, an existing --out, a restore into a directory
that holds a store, a file that is not a backup or is damaged, and a PostgreSQL store
(pg_dump is the tool).

These are about the SQLite store's files; on PostgreSQL only the refusal runs.
"""

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
import unittest

from harness import E2ETestCase, Server, noop, on_postgres, scaled, stepwell_bin, wait_until

WORKFLOW = "bk-load"
PARKED = "bk-parked"
# Runs acknowledged before the backup starts, and after it ends, at least.
RUNS_BEFORE = 60
RUNS_AFTER = 20
COMMAND_TIMEOUT = 120.0


def run_cli(*args, env=None):
    """Runs `stepwell ARGS...`; returns the CompletedProcess (text output)."""
    return subprocess.run([stepwell_bin(), *args], capture_output=True, text=True,
                          timeout=scaled(COMMAND_TIMEOUT), env=env, stdin=subprocess.DEVNULL)


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Load:
    """Starts runs of WORKFLOW back to back from a thread and records, for each answer,
    the run id and the monotonic time the answer was read."""

    def __init__(self, server):
        self.server = server
        self.lock = threading.Lock()
        self.acked = []  # (time answered, run id)
        self.errors = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                resp = self.server.request("POST", f"/api/v1/workflows/{WORKFLOW}/runs",
                                           {"input": {"n": n, "pad": "x" * 2000}})
            except OSError as e:
                self.errors.append(repr(e))
                continue
            answered = time.monotonic()
            if resp.status in (201, 202):
                with self.lock:
                    self.acked.append((answered, resp.json["id"]))
            else:
                self.errors.append(repr(resp))

    def count(self):
        with self.lock:
            return len(self.acked)

    def acked_before(self, instant):
        with self.lock:
            return [run_id for answered, run_id in self.acked if answered < instant]

    def all_ids(self):
        with self.lock:
            return {run_id for _, run_id in self.acked}


@unittest.skipIf(on_postgres(), "backup copies the SQLite store; PostgreSQL uses pg_dump")
class BackupUnderLoadTest(E2ETestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="stepwell-backup-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_backup_under_load_has_every_acknowledged_run(self):
        server = self.start_test_server()
        server.put_workflow({"id": WORKFLOW, "steps": [
            noop("a", "${{ input.n }}"), noop("b", "${{ input.pad }}")]})
        server.put_workflow({"id": PARKED, "steps": [
            {"id": "w", "type": "wait_for_event", "with": {"event_type": "go"}},
            noop("after", "${{ steps.w.output.payload.v }}")]})
        parked = server.start_run(PARKED)
        server.wait_status(parked["id"], "waiting")

        load = Load(server)
        load.thread.start()
        self.addCleanup(load.stop.set)
        wait_until(lambda: load.count() >= RUNS_BEFORE, timeout=60,
                   desc=f"{RUNS_BEFORE} runs started")
        out = os.path.join(self.tmp, "stepwell.backup")
        started = time.monotonic()
        # One page a step: the copy interleaves with the server's commits as much as it can.
        done = run_cli("backup", "--data-dir", server.data_dir, "--out", out, "--step-pages", "1")
        ended = time.monotonic()
        self.assertEqual(done.returncode, 0, f"backup failed: {done.stderr}")
        before = load.acked_before(started)
        count_at_end = load.count()
        wait_until(lambda: load.count() >= count_at_end + RUNS_AFTER, timeout=60,
                   desc="runs started after the backup")
        load.stop.set()
        load.thread.join(timeout=scaled(30))
        self.assertEqual(load.errors, [], "the server refused runs under load")
        self.assertGreaterEqual(len(before), RUNS_BEFORE)
        self.assertIn("Backed up", done.stdout)
        print(f"\n[backup] {len(before)} runs acknowledged before the backup, "
              f"{load.count()} in all; backup took {ended - started:.2f} s: "
              f"{done.stdout.strip()}")

        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        self.assertFalse(os.path.exists(out + ".partial"))

        target = os.path.join(self.tmp, "restored")
        done = run_cli("restore", "--from", out, "--data-dir", target)
        self.assertEqual(done.returncode, 0, f"restore failed: {done.stderr}")
        self.assertIn("Restored", done.stdout)
        for name in ("secret.key", "admin-token"):
            self.assertEqual(file_digest(os.path.join(target, name)),
                             file_digest(os.path.join(server.data_dir, name)), name)
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(target, name)).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(target, "stepwell.db")).st_mode),
                         0o600)
        for name in ("listen-address", "processes", "stepwell.db.restoring"):
            self.assertFalse(os.path.exists(os.path.join(target, name)), name)

        restored = Server(data_dir=target, name="restored")
        self._servers_list().append(restored)
        self.addCleanup(restored.close)
        restored.admin_token = server.admin_token  # the workspace came with the backup
        runs = {r["id"]: r for r in restored.list_all(f"/api/v1/runs?workflow_id={WORKFLOW}")}
        missing = [run_id for run_id in before if run_id not in runs]
        self.assertEqual(missing, [], f"{len(missing)} acknowledged runs are not in the backup")
        unknown = set(runs) - load.all_ids()
        self.assertEqual(unknown, set(), "runs the original server never acknowledged")
        self.assertLess(len(runs), load.count(), "runs started after the backup are in it")
        for run_id in before[:20]:
            self.assertEqual(restored.get_run(run_id)["status"], "completed")

        # The restored server goes on with work parked before the backup, and takes new runs.
        resp = restored.send_event(parked["id"], "go", {"v": 7})
        self.assertEqual(resp.status, 202, resp)
        run = restored.wait_status(parked["id"], "completed")
        self.assertEqual(run["output"], 7)
        fresh = restored.run_and_wait(WORKFLOW, {"n": 1, "pad": "y"})
        self.assertEqual(fresh["status"], "completed")
        self.assertNotIn(fresh["id"], runs)

    def test_backup_of_a_stopped_server_and_force(self):
        server = self.start_test_server()
        server.put_workflow({"id": WORKFLOW, "steps": [noop("a", 1), noop("b", 2)]})
        ids = [server.start_run(WORKFLOW)["id"] for _ in range(3)]
        server.kill()
        out = os.path.join(self.tmp, "b1")
        done = run_cli("backup", "--data-dir", server.data_dir, "--out", out)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("3 runs", done.stdout)
        # An existing --out is kept unless --force.
        digest = file_digest(out)
        done = run_cli("backup", "--data-dir", server.data_dir, "--out", out)
        self.assertEqual(done.returncode, 1)
        self.assertIn("exists", done.stderr)
        self.assertEqual(file_digest(out), digest)
        done = run_cli("backup", "--data-dir", server.data_dir, "--out", out, "--force")
        self.assertEqual(done.returncode, 0, done.stderr)

        # --no-secrets leaves the key and the admin token out, and the restore says so.
        bare = os.path.join(self.tmp, "bare")
        done = run_cli("backup", "--data-dir", server.data_dir, "--out", bare, "--no-secrets")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("does not carry the secret key", done.stdout)
        target = os.path.join(self.tmp, "bare-restored")
        env = {k: v for k, v in os.environ.items() if k != "STEPWELL_SECRET_KEY"}
        done = run_cli("restore", "--from", bare, "--data-dir", target, env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("No secret key came with the backup", done.stdout)
        self.assertFalse(os.path.exists(os.path.join(target, "secret.key")))
        self.assertFalse(os.path.exists(os.path.join(target, "admin-token")))

        # The original directory, restarted, is unchanged by the backups.
        server.start()
        self.assertEqual(sorted(r["id"] for r in server.list_all("/api/v1/runs")), sorted(ids))


@unittest.skipIf(on_postgres(), "backup copies the SQLite store; PostgreSQL uses pg_dump")
class RefusalsTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="stepwell-backup-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.server = cls.start_server()
        cls.server.put_workflow({"id": WORKFLOW, "steps": [noop("a", 1)]})
        cls.run_id = cls.server.start_run(WORKFLOW)["id"]
        cls.backup = os.path.join(cls.tmp, "good.backup")
        done = run_cli("backup", "--data-dir", cls.server.data_dir, "--out", cls.backup)
        if done.returncode != 0:
            raise AssertionError(f"backup failed: {done.stderr}")

    def assertRefused(self, done, *fragments):
        self.assertEqual(done.returncode, 1, f"not refused: {done.stdout} {done.stderr}")
        for fragment in fragments:
            self.assertIn(fragment, done.stderr)

    def test_backup_of_a_missing_data_dir(self):
        missing = os.path.join(self.tmp, "no-such-dir")
        out = os.path.join(self.tmp, "x.backup")
        self.assertRefused(run_cli("backup", "--data-dir", missing, "--out", out),
                           "no data directory at " + missing)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(missing))

    def test_backup_of_a_directory_without_a_store(self):
        empty = tempfile.mkdtemp(dir=self.tmp)
        out = os.path.join(self.tmp, "y.backup")
        self.assertRefused(run_cli("backup", "--data-dir", empty, "--out", out),
                           "holds no Stepwell store")
        self.assertFalse(os.path.exists(out))
        self.assertEqual(os.listdir(empty), [])

    def test_restore_into_an_existing_store_is_refused(self):
        db = os.path.join(self.server.data_dir, "stepwell.db")
        self.assertRefused(
            run_cli("restore", "--from", self.backup, "--data-dir", self.server.data_dir),
            "already holds a Stepwell store", "--force")
        self.assertFalse(os.path.exists(db + ".restoring"))
        self.assertEqual(self.server.get_run(self.run_id)["status"], "completed")

    def test_restore_with_force_replaces_a_stopped_store(self):
        target = os.path.join(self.tmp, "forced")
        os.mkdir(target)
        other = Server(data_dir=target, name="other")
        self._servers_list().append(other)
        self.addCleanup(other.close)
        other.put_workflow({"id": "other-wf", "steps": [noop("a", 1)]})
        other.kill()
        done = run_cli("restore", "--from", self.backup, "--data-dir", target)
        self.assertRefused(done, "already holds a Stepwell store")
        # Its secret key differs from the backup's: replaced only with --force too.
        done = run_cli("restore", "--from", self.backup, "--data-dir", target, "--force")
        self.assertEqual(done.returncode, 0, done.stderr)
        other.admin_token = self.server.admin_token
        other.start()
        self.assertEqual(other.get_run(self.run_id)["status"], "completed")
        self.assertEqual(other.request("GET", "/api/v1/workflows/other-wf").status, 404)

    def test_restore_of_a_file_that_is_not_a_backup(self):
        junk = os.path.join(self.tmp, "junk")
        with open(junk, "wb") as f:
            f.write(b"not a database at all\n" * 500)
        target = os.path.join(self.tmp, "from-junk")
        self.assertRefused(run_cli("restore", "--from", junk, "--data-dir", target),
                           junk + " is not a SQLite database")
        self.assertFalse(os.path.exists(os.path.join(target, "stepwell.db")))
        self.assertFalse(os.path.exists(os.path.join(target, "stepwell.db.restoring")))

    def test_restore_of_a_sqlite_file_that_is_not_a_store(self):
        import sqlite3

        other = os.path.join(self.tmp, "other.sqlite")
        with sqlite3.connect(other) as db:
            db.execute("CREATE TABLE t (x)")
        target = os.path.join(self.tmp, "from-other")
        self.assertRefused(run_cli("restore", "--from", other, "--data-dir", target),
                           "not a Stepwell store")
        self.assertFalse(os.path.exists(os.path.join(target, "stepwell.db")))

    def test_restore_of_a_damaged_backup(self):
        damaged = os.path.join(self.tmp, "damaged.backup")
        with open(self.backup, "rb") as f:
            data = bytearray(f.read())
        # Keep the header; overwrite every page after the first two with garbage.
        for i in range(8192, len(data)):
            data[i] = (i * 7919) & 0xff
        with open(damaged, "wb") as f:
            f.write(data)
        target = os.path.join(self.tmp, "from-damaged")
        done = run_cli("restore", "--from", damaged, "--data-dir", target)
        self.assertRefused(done, damaged)
        self.assertRegex(done.stderr, "damaged|not a Stepwell store")
        self.assertFalse(os.path.exists(os.path.join(target, "stepwell.db")))

    def test_restore_of_a_missing_file(self):
        missing = os.path.join(self.tmp, "nothing-here")
        self.assertRefused(
            run_cli("restore", "--from", missing, "--data-dir", os.path.join(self.tmp, "t")),
            "no backup at " + missing)


class PostgresTest(E2ETestCase):

    def test_postgres_store_points_at_pg_dump(self):
        url = "postgresql://stepwell@127.0.0.1:1/stepwell"
        with tempfile.TemporaryDirectory() as tmp:
            for args in (["backup", "--data-dir", tmp, "--out", os.path.join(tmp, "b")],
                         ["restore", "--from", os.path.join(tmp, "b"), "--data-dir", tmp]):
                done = run_cli(*args, "--store", url)
                self.assertEqual(done.returncode, 1, done.stdout)
                self.assertIn("pg_dump", done.stderr)
                self.assertIn("secret.key", done.stderr)
                self.assertNotIn(url, done.stderr)
                self.assertEqual(os.listdir(tmp), [])


if __name__ == "__main__":
    unittest.main()
