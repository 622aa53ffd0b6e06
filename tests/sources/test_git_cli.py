"""How git's failures are sorted, including hosted-service messages we cannot reproduce on loopback."""

from __future__ import annotations

import pytest

from dbt_kickoff.errors import PrerequisitesException
from dbt_kickoff.sources.git_cli import Failure, classify, git_version, require_git


@pytest.mark.parametrize(
    ("stderr", "failure"),
    [
        (
            "ERROR: Repository not found. fatal: Could not read from remote repository.",
            Failure.REPOSITORY_MISSING,
        ),
        (
            "remote: Repository not found. fatal: repository 'https://github.com/o/r.git/' not found",
            Failure.REPOSITORY_MISSING,
        ),
        (
            "remote: Invalid username or password. fatal: Authentication failed for 'https://github.com/o/r.git/'",
            Failure.AUTH,
        ),
        (
            "git@github.com: Permission denied (publickey). fatal: Could not read from remote repository.",
            Failure.AUTH,
        ),
        (
            "fatal: unable to access 'https://gl.example/r.git/': Could not resolve host: gl.example",
            Failure.NETWORK,
        ),
        ("ssh: connect to host github.com port 22: Connection timed out", Failure.NETWORK),
        (
            "fatal: unable to access 'https://h/r.git/': The requested URL returned error: 503",
            Failure.NETWORK,
        ),
        (
            "No ED25519 host key is known for [h]:22 and you have requested strict checking. "
            "Host key verification failed.",
            Failure.HOST_KEY,
        ),
        ("fatal: couldn't find remote ref release/9", Failure.REF_MISSING),
        ("error: Server does not allow request for unadvertised object 1234abcd", Failure.REF_MISSING),
        ("fatal: bad object HEAD", Failure.LOCAL),
    ],
)
def test_classify(stderr: str, failure: Failure) -> None:
    assert classify(stderr) is failure


def test_require_git_names_the_versions() -> None:
    assert git_version() >= (2, 31)
    with pytest.raises(PrerequisitesException, match=r"frobbing needs git 99\.0 or newer, but git 2\."):
        require_git((99, 0), "frobbing")
