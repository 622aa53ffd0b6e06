"""When OpenLineage events are sent: the ``openlineage=`` option, else the client's own configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_kickoff.lineage import lineage_configured, make_client


def test_option_wins_and_the_clients_own_configuration_counts(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OPENLINEAGE_DISABLED", "OPENLINEAGE__TRANSPORT__TYPE"):
        monkeypatch.delenv(name, raising=False)
    assert not lineage_configured(None)
    assert lineage_configured(True) and lineage_configured({"transport": {"type": "console"}})
    assert not lineage_configured(False)
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "console")
    assert lineage_configured(None)
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    assert not lineage_configured(None)
    monkeypatch.delenv("OPENLINEAGE_DISABLED")
    monkeypatch.delenv("OPENLINEAGE__TRANSPORT__TYPE")
    (tmp_path / "openlineage.yml").write_text("transport:\n  type: console\n")
    assert lineage_configured(None)


def test_client_from_a_url_or_a_config(tmp_path: Path) -> None:
    http = make_client("http://127.0.0.1:9/api")
    assert type(http.transport).__name__ == "HttpTransport"
    file = make_client({"transport": {"type": "file", "log_file_path": str(tmp_path / "e.jsonl"), "append": True}})
    assert type(file.transport).__name__ == "FileTransport"
    sentinel = type("Client", (), {"emit": lambda self, event: None})()
    assert make_client(sentinel) is sentinel
