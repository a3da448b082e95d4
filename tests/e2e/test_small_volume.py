"""A small data volume (an 8 MiB tmpfs): the WAL pre-allocation does not take it, the
files written at start are whole, a volume too full to hold them stops the start with a
clear message, and after a disk-full episode the server writes again by itself once
there is space. Needs root (mount); skipped, saying why, otherwise. Only on SQLite: the
volume under test is the SQLite store's; on PostgreSQL the store is not in the data
directory."""

import os
import subprocess
import sys
import tempfile
import unittest

from harness import E2ETestCase, noop, on_postgres, scaled, stepwell_bin, wait_until


def mount_tmpfs(size="8m"):
    """A fresh tmpfs of `size`, or (None, why not)."""
    path = tempfile.mkdtemp(prefix="stepwell-small-")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                            capture_output=True, text=True)
    if result.returncode != 0:
        os.rmdir(path)
        return None, f"cannot mount a tmpfs: {result.stderr.strip() or result.returncode}"
    return path, None


def fill(path, leave_bytes=0):
    """Writes a file in `path` until the volume has about `leave_bytes` free."""
    filler = os.path.join(path, "filler")
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as f:
        while True:
            st = os.statvfs(path)
            free = st.f_bavail * st.f_frsize
            if free <= leave_bytes:
                break
            try:
                f.write(chunk[:max(1, min(len(chunk), free - leave_bytes))])
            except OSError:
                break
    return filler


@unittest.skipIf(on_postgres(), "about the SQLite store's files on a small volume; on "
                 "PostgreSQL the data directory holds no store")
class SmallVolumeTest(E2ETestCase):
    def setUp(self):
        self.mount, why = mount_tmpfs()
        if self.mount is None:
            print(f"skipped: {why}", file=sys.stderr)
            self.skipTest(why)
        self.addCleanup(self.unmount)

    def unmount(self):
        subprocess.run(["umount", "-l", self.mount], capture_output=True)
        os.rmdir(self.mount)

    def test_start_writes_whole_files_and_recovers_after_disk_full(self):
        data = os.path.join(self.mount, "data")
        os.mkdir(data, 0o700)
        s = self.start_test_server(data_dir=data)
        with open(os.path.join(data, "admin-token")) as f:
            self.assertEqual(f.read().strip(), s.admin_token)
        with open(os.path.join(data, "listen-address")) as f:
            self.assertEqual(f.read().strip(), f"{s.host}:{s.port}")
        wal = os.path.join(data, "stepwell.db-wal")
        self.assertLess(os.path.getsize(wal), 4 << 20, "the WAL pre-allocation took the volume")
        s.put_workflow({"id": "small", "steps": [noop("a", "x" * 2000)]})
        self.assertEqual(s.run_and_wait("small")["status"], "completed")

        filler = fill(self.mount)
        start = "/api/v1/workflows/small/runs"
        refused = None
        accepted = []
        for _ in range(500):  # bounded: the WAL's free pages fill up first
            resp = s.api("POST", start, {"input": {}})
            if resp.status >= 500:
                refused = resp
                break
            accepted.append(resp.json["id"])
        self.assertIsNotNone(refused, "the disk never filled")
        os.unlink(filler)
        # Without a restart: the next commits succeed and health comes back.
        wait_until(lambda: s.api("POST", start, {"input": {}}).status == 201, 10,
                   "a run could be started again")
        wait_until(s.healthy, 10, "healthy again")
        self.assertEqual(s.run_and_wait("small")["status"], "completed")
        # Runs accepted while the disk filled (their step's commit may have failed) go
        # on by themselves too.
        for run_id in accepted:
            self.assertEqual(s.wait_status(run_id, "completed", "failed", "cancelled")["status"],
                             "completed", run_id)

    def test_a_volume_too_full_for_the_start_files_fails_the_start(self):
        data = os.path.join(self.mount, "data")
        os.mkdir(data, 0o700)
        fill(self.mount, leave_bytes=0)
        env = dict(os.environ, STEPWELL_ADMIN_TOKEN="sw_" + "a" * 43)
        result = subprocess.run(
            [stepwell_bin(), "serve", "--data-dir", data, "--listen", "127.0.0.1:0"],
            capture_output=True, text=True, timeout=scaled(30), env=env, cwd=data)
        self.assertNotEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertRegex(result.stderr, r"error: .*(full|space|cannot)", result.stderr)
        token_file = os.path.join(data, "admin-token")
        if os.path.exists(token_file):
            self.assertGreater(os.path.getsize(token_file), 0, "an empty admin-token file")


if __name__ == "__main__":
    unittest.main()
