"""``serve()``: run the emulator in the foreground with a demo account, token and job (Ctrl-C stops it)."""

from __future__ import annotations

import secrets
import threading

from dbt_kickoff_emulator.app import DbtCloudEmulator
from dbt_kickoff_emulator.models import RunScript

DEMO_ACCOUNT_ID = 1
DEMO_JOB_ID = 1001
DEMO_SCRIPT = RunScript(
    queued_polls=0, starting_polls=0, running_polls=0, queued_seconds=2, starting_seconds=2, running_seconds=6
)


def serve(port: int = 0, host: str = "127.0.0.1", *, seed_demo: bool = True) -> None:
    """Serve until interrupted; prints the base URL and, with ``seed_demo``, a ready account/token/job."""
    emulator = DbtCloudEmulator(host=host, port=port)
    token = f"dbtc_emulator_{secrets.token_urlsafe(18)}"
    if seed_demo:
        emulator.add_account(DEMO_ACCOUNT_ID, "Demo account", run_slots=2)
        emulator.add_token(token, account_ids=[DEMO_ACCOUNT_ID])
        emulator.add_job(
            DEMO_ACCOUNT_ID,
            DEMO_JOB_ID,
            "Demo build",
            execute_steps=["dbt build"],
            generate_docs=True,
            script=DEMO_SCRIPT,
        )
    emulator.start()
    print(f"dbt Cloud emulator listening on {emulator.base_url}", flush=True)
    if seed_demo:
        print(f"  account id: {DEMO_ACCOUNT_ID}", flush=True)
        print(f"  api token:  {token}   (emulator-only, valid for this process)", flush=True)
        print(f"  job id:     {DEMO_JOB_ID}   (runs take ~10 s and succeed)", flush=True)
        print(
            f"  try: DBT_CLOUD__BASE_URL={emulator.base_url} DBT_CLOUD__ACCOUNT_ID={DEMO_ACCOUNT_ID} "
            f"DBT_CLOUD__API_TOKEN=<token> dbt-kickoff cloud run {DEMO_JOB_ID}",
            flush=True,
        )
    print("Press Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
