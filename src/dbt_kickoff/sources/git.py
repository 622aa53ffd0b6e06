"""dbt packages from git repositories: a cached checkout per (URL, ref), cloned shallow, updated by fetch."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock

from dbt_kickoff.errors import ConfigurationError, KickoffError, PrerequisitesException
from dbt_kickoff.sources import ResolvedPackage, read_project_file
from dbt_kickoff.sources.checkout_cache import CacheEntry, CheckoutState, default_cache_dir, write_state
from dbt_kickoff.sources.git_auth import GitAccess, GitEnvironment, HostKeyPolicy, git_environment
from dbt_kickoff.sources.git_cli import Failure, GitCommandError, logger, require_git, run_git
from dbt_kickoff.sources.git_urls import parse_git_url

# untracked dbt state that must survive updates: partial parse, installed packages, logs, the deps lock
KEPT_UNTRACKED = ("target/", "dbt_packages/", "logs/", "package-lock.yml")
_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")
_MAX_LISTED_REFS = 8
_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


class RepositoryUnavailable(PrerequisitesException):
    """The repository could not be reached (network, server down, timeout)."""


class GitSource:
    """A dbt package in a git repository, checked out into a local cache.

    ``resolve()`` clones on first use and otherwise only checks (and repairs) the cached checkout, without
    network. ``ensure_newest()`` fetches the ref and moves the checkout to its newest commit; a commit sha is
    immutable, so it never fetches once that commit is checked out.
    """

    def __init__(
        self,
        location: str,
        *,
        ref: str | None = None,
        subdirectory: str | None = None,
        ssh_key: str | None = None,
        token: str | None = None,
        username: str | None = None,
        known_hosts: str | Path | None = None,
        host_key_policy: HostKeyPolicy = "accept-new",
        cache_dir: str | Path | None = None,
        allow_stale: bool = False,
        timeout: float | None = 600.0,
        lock_timeout: float = 900.0,
    ) -> None:
        self.remote = parse_git_url(location, subdirectory=subdirectory)
        self.ref = _checked_ref(ref)
        self.access = GitAccess(
            ssh_key=ssh_key,
            token=token,
            username=username,
            known_hosts=known_hosts,
            host_key_policy=host_key_policy,
        )
        self.access.check_transport(self.remote)
        self.allow_stale = allow_stale
        self.timeout = timeout
        self.entry = CacheEntry.for_remote(
            Path(cache_dir).expanduser() if cache_dir else default_cache_dir(),
            self.remote.cache_key,
            self.ref,
        )
        self._lock_timeout = lock_timeout
        self._lock = self.entry.lock(lock_timeout)

    def __repr__(self) -> str:
        return f"GitSource({self.remote.display!r}, ref={self.ref!r}, checkout={str(self.entry.path)!r})"

    @property
    def lock(self) -> filelock.FileLock:
        """The checkout's inter-process lock; hold it while dbt runs to keep others out."""
        return self._lock

    def resolve(self) -> ResolvedPackage:
        """Clone when absent; otherwise check the cached checkout (repairing it) without using the network."""
        with self._locked(), self._git_env() as env:
            state = self._usable_checkout(env)
            if state is None:
                return self._clone(env)
            return self._describe(env, state.commit)

    def ensure_newest(self) -> ResolvedPackage:
        """Fetch the ref and move the checkout to its newest commit (clone when absent)."""
        with self._locked(), self._git_env() as env:
            state = self._usable_checkout(env)
            if state is None:
                return self._clone(env)
            if self._is_pinned_commit(state.commit):
                return self._describe(env, state.commit)
            try:
                commit = self._fetch(env, self.entry.path)
            except GitCommandError as exc:
                if exc.failure is Failure.LOCAL:
                    logger.warning(
                        "could not fetch into the cached checkout of %s (%s); cloning it again",
                        self.remote.display,
                        exc.detail,
                    )
                    return self._clone(env)
                error = self._explain(exc, env)
                if self.allow_stale and isinstance(error, RepositoryUnavailable):
                    logger.warning(
                        "could not update %s (%s); using the cached checkout at %s, which may be stale",
                        self.remote.display,
                        exc.detail,
                        state.commit[:12],
                    )
                    return self._describe(env, state.commit)
                raise error from None
            if commit != state.commit:
                logger.info("updating %s from %s to %s", self.remote.display, state.commit[:12], commit[:12])
                self._git(env, ["checkout", "-q", "-f", "--detach", commit], cwd=self.entry.path)
                self._clean(env)
                write_state(self.entry.path, CheckoutState(self.remote.cache_key, self.ref, commit))
            return self._describe(env, commit)

    # -- checkout life cycle -------------------------------------------------------------------------------

    def _usable_checkout(self, env: GitEnvironment) -> CheckoutState | None:
        """The cached checkout's state after repairing local damage, or None when it must be cloned again."""
        self.entry.remove_leftovers()
        self.entry.remove_stale_git_locks()
        state = self.entry.read_state()
        if state is None or state.url != self.remote.cache_key or state.ref != self.ref:
            if self.entry.path.exists():
                logger.warning(
                    "the cached checkout of %s is incomplete; cloning it again", self.remote.display
                )
            return None
        try:
            head = self._git(
                env, ["rev-parse", "--verify", "-q", "HEAD^{commit}"], cwd=self.entry.path
            ).strip()
            if head != state.commit:
                self._git(env, ["checkout", "-q", "-f", "--detach", state.commit], cwd=self.entry.path)
            self._clean(env)
        except GitCommandError as exc:
            logger.warning(
                "the cached checkout of %s is damaged (%s); cloning it again", self.remote.display, exc.detail
            )
            return None
        return state

    def _clean(self, env: GitEnvironment) -> None:
        """Undo edits to tracked files and remove stray files; keep target/ and dbt_packages/."""
        status = self._git(
            env, ["status", "--porcelain=v1", "-z", "--untracked-files=normal"], cwd=self.entry.path
        )
        entries = [item for item in status.split("\0") if item]
        if any(not item.startswith("??") for item in entries):
            self._git(env, ["reset", "-q", "--hard", "HEAD"], cwd=self.entry.path)
        if any(item.startswith("??") and not _is_kept(item[3:]) for item in entries):
            excludes = [arg for pattern in KEPT_UNTRACKED for arg in ("-e", pattern)]
            self._git(env, ["clean", "-ffdq", *excludes], cwd=self.entry.path)

    def _clone(self, env: GitEnvironment) -> ResolvedPackage:
        logger.info("cloning %s (ref %s)", self.remote.display, self.ref or "default branch")
        checkout = self.entry.new_temp_dir()
        try:
            self._git(env, ["init", "-q", "--template=", str(checkout)])
            self._git(env, ["remote", "add", "origin", self.remote.url], cwd=checkout)
            try:
                commit = self._fetch(env, checkout)
            except GitCommandError as exc:
                if exc.failure is not Failure.REF_MISSING or not self.ref or not _HEX.match(self.ref):
                    raise self._explain(exc, env) from None
                commit = self._fetch_commit_from_history(env, checkout)
            self._git(env, ["checkout", "-q", "--detach", commit], cwd=checkout)
            write_state(checkout, CheckoutState(self.remote.cache_key, self.ref, commit))
            self.entry.install(checkout)
        finally:
            shutil.rmtree(checkout, ignore_errors=True)  # gone already when installed
        return self._describe(env, commit)

    def _fetch(self, env: GitEnvironment, repo: Path) -> str:
        """Shallow-fetch the ref (branch, tag, full sha, or the remote's HEAD) and return its commit."""
        self._git(
            env,
            ["fetch", "-q", "--depth=1", "--no-tags", "origin", self.ref or "HEAD"],
            cwd=repo,
            network=True,
        )
        return self._git(env, ["rev-parse", "--verify", "FETCH_HEAD^{commit}"], cwd=repo).strip()

    def _fetch_commit_from_history(self, env: GitEnvironment, repo: Path) -> str:
        """The server would not serve the sha directly (or it is abbreviated): fetch all, look it up."""
        assert self.ref is not None
        logger.info("%s: fetching full history to find commit %s", self.remote.display, self.ref)
        try:
            self._git(
                env,
                [
                    "fetch",
                    "-q",
                    "--no-tags",
                    "origin",
                    "+refs/heads/*:refs/remotes/origin/*",
                    "+refs/tags/*:refs/tags/*",
                ],
                cwd=repo,
                network=True,
            )
        except GitCommandError as exc:
            raise self._explain(exc, env) from None
        try:
            return self._git(env, ["rev-parse", "--verify", "-q", f"{self.ref}^{{commit}}"], cwd=repo).strip()
        except GitCommandError:
            raise self._missing_ref(env) from None

    def _describe(self, env: GitEnvironment, commit: str) -> ResolvedPackage:
        project_dir = self.entry.path
        if self.remote.subdirectory:
            project_dir = project_dir / self.remote.subdirectory
        if not (project_dir / "dbt_project.yml").is_file():
            raise PrerequisitesException(self._no_project_message(env, commit))
        data = read_project_file(project_dir, self.remote.display)
        profile = data.get("profile")
        return ResolvedPackage(
            project_dir=project_dir,
            location=self.remote.display,
            commit_sha=commit,
            project_name=str(data["name"]),
            profile_name=str(profile) if profile else None,
            project=data,
        )

    # -- errors --------------------------------------------------------------------------------------------

    def _explain(self, exc: GitCommandError, env: GitEnvironment) -> KickoffError:
        """Turn a failed network git call into the error that tells the caller what to fix."""
        where = self.remote.display
        if exc.failure is Failure.REF_MISSING:
            return self._missing_ref(env)
        if exc.failure is Failure.AUTH:
            if self.remote.transport == "ssh":
                fix = (
                    "check package_repository_ssh_key: its public key must be authorized on the server"
                    if self.access.ssh_key
                    else "pass package_repository_ssh_key with a key the server accepts"
                )
            else:
                fix = (
                    "check the token (and username): it was refused"
                    if self.access.token or self.remote.password
                    else "the repository is private (or does not exist): pass package_repository_token"
                )
            return ConfigurationError(f"access to {where} was denied: {fix}. git said: {exc.detail}")
        if exc.failure is Failure.HOST_KEY:
            return ConfigurationError(
                f"the ssh host key of {self.remote.host} is not trusted for {where}: add the server's key to "
                "known_hosts (ssh-keyscan) or use host_key_policy='accept-new'. git said: " + exc.detail
            )
        if exc.failure is Failure.REPOSITORY_MISSING:
            return PrerequisitesException(
                f"repository {where} does not exist or is not readable; check package_location. "
                f"git said: {exc.detail}"
            )
        if exc.failure is Failure.NETWORK:
            return RepositoryUnavailable(
                f"could not reach {where}: {exc.detail}. Check the network and the URL"
                + ("" if self.allow_stale else " (allow_stale_package=True keeps using the cached checkout)")
            )
        return PrerequisitesException(f"git failed for {where}: {exc.detail}")

    def _missing_ref(self, env: GitEnvironment) -> PrerequisitesException:
        where = self.remote.display
        try:
            listing = self._git(env, ["ls-remote", "--heads", "--tags", self.remote.url], network=True)
        except GitCommandError:
            listing = ""
        branches, tags = [], []
        for line in listing.splitlines():
            name = line.partition("\t")[2]
            if name.startswith("refs/heads/"):
                branches.append(name.removeprefix("refs/heads/"))
            elif name.startswith("refs/tags/") and not name.endswith("^{}"):
                tags.append(name.removeprefix("refs/tags/"))
        known = [f"branches: {', '.join(branches[:_MAX_LISTED_REFS])}"] if branches else []
        known += [f"tags: {', '.join(tags[:_MAX_LISTED_REFS])}"] if tags else []
        return PrerequisitesException(
            f"ref {self.ref!r} does not exist in {where}"
            + (f" (it has {'; '.join(known)})" if known else "")
            + ". Set package_repository_branch to an existing branch, tag or commit sha."
        )

    def _no_project_message(self, env: GitEnvironment, commit: str) -> str:
        try:
            files = self._git(
                env, ["ls-files", "-z", "--", "dbt_project.yml", "*/dbt_project.yml"], cwd=self.entry.path
            )
        except GitCommandError:
            files = ""
        folders = [str(Path(f).parent) for f in files.split("\0") if f]
        found = ", ".join(("(root)" if f == "." else f) for f in folders[:_MAX_LISTED_REFS])
        place = f"subdirectory {self.remote.subdirectory!r}" if self.remote.subdirectory else "the root"
        hint = f"dbt_project.yml is in: {found}" if found else "the repository holds no dbt_project.yml"
        return (
            f"{self.remote.display} at commit {commit[:12]} has no dbt_project.yml in {place}; {hint}. "
            "Pass the folder as subdirectory (or a #subdirectory=path suffix on the URL)."
        )

    # -- plumbing ------------------------------------------------------------------------------------------

    def _is_pinned_commit(self, commit: str) -> bool:
        return bool(self.ref and _HEX.match(self.ref) and commit.startswith(self.ref.lower()))

    def _git(
        self, env: GitEnvironment, args: list[str], *, cwd: Path | None = None, network: bool = False
    ) -> str:
        return run_git(args, env, cwd=cwd, timeout=self.timeout if network else None)

    @contextmanager
    def _git_env(self) -> Iterator[GitEnvironment]:
        if self.access.token or self.remote.password:
            require_git((2, 31), "passing an https token through git's environment (GIT_CONFIG_COUNT)")
        with git_environment(self.remote, self.access, known_hosts_store=self.entry.known_hosts) as env:
            yield env

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise PrerequisitesException(
                f"another process kept the checkout of {self.remote.display} locked for "
                f"{self._lock_timeout:g} s "
                f"({self._lock.lock_file}); try again when it has finished"
            ) from None
        try:
            yield
        finally:
            self._lock.release()


def _checked_ref(ref: str | None) -> str | None:
    """The ref, stripped; refuse what git could read as an option or that no ref name may contain."""
    text = (ref or "").strip()
    if not text:
        return None
    if text.startswith("-") or ".." in text or _BAD_REF_CHARS.search(text):
        raise ConfigurationError(
            f"package_repository_branch {text!r} is not a valid git ref; pass a branch, tag or commit sha"
        )
    return text


def _is_kept(path: str) -> bool:
    parts = path.rstrip("/").split("/")
    return any(part + "/" in KEPT_UNTRACKED or part in KEPT_UNTRACKED for part in parts)
