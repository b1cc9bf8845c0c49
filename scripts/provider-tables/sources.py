"""Read a provider's source tree at a pinned ref: a bare (or normal) git
repository read with `git cat-file --batch`, or a plain directory."""

import os
import subprocess


class Tree:
    """Files of one source tree: `files` (paths) and `read(path)` (text)."""

    def __init__(self, path, ref=None):
        self.path = path
        self.ref = ref
        self._cache = {}
        if ref is None:
            self.git_dir = None
            self.files = []
            for root, dirs, names in os.walk(path):
                dirs[:] = [d for d in dirs if d != ".git"]
                for n in names:
                    full = os.path.join(root, n)
                    self.files.append(os.path.relpath(full, path).replace(os.sep, "/"))
            self.files.sort()
            self.commit = None
        else:
            self.git_dir = git_dir(path)
            self.commit = self._git("rev-parse", ref + "^{commit}").strip()
            out = self._git("ls-tree", "-r", "-z", "--name-only", self.commit)
            self.files = sorted(p for p in out.split("\0") if p)
            self._batch = None
        self.file_set = set(self.files)

    def _git(self, *args):
        return subprocess.run(
            ["git", "--git-dir", self.git_dir, *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def read(self, rel):
        if rel in self._cache:
            return self._cache[rel]
        if self.git_dir is None:
            with open(os.path.join(self.path, rel), encoding="utf-8", errors="replace") as f:
                text = f.read()
        else:
            if self._batch is None:
                self._batch = subprocess.Popen(
                    ["git", "--git-dir", self.git_dir, "cat-file", "--batch"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            self._batch.stdin.write(f"{self.commit}:{rel}\n".encode())
            self._batch.stdin.flush()
            header = self._batch.stdout.readline().decode().split()
            if len(header) < 3 or header[1] == "missing":
                raise FileNotFoundError(rel)
            size = int(header[2])
            data = self._batch.stdout.read(size)
            self._batch.stdout.read(1)
            text = data.decode("utf-8", errors="replace")
        if len(self._cache) > 4000:
            self._cache.clear()
        self._cache[rel] = text
        return text

    def close(self):
        if self.git_dir is not None and self._batch is not None:
            self._batch.stdin.close()
            self._batch.wait()
            self._batch = None


def git_dir(path):
    """The git directory of a mirror: PATH itself (bare), PATH/.git, or
    PATH/repo (the layout of a directory of mirrors)."""
    for cand in (path, os.path.join(path, ".git"), os.path.join(path, "repo"), os.path.join(path, "repo", ".git")):
        if os.path.isfile(os.path.join(cand, "HEAD")) and os.path.isdir(os.path.join(cand, "objects")):
            return cand
    raise SystemExit(f"no git repository at {path}")
