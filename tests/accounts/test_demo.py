"""`lincah demo` in development: real accounts (through the registry's commands), the
services seeded by the demo administrator's login, and the printed curl walk-through,
run as printed (and as the README has it), logs in and ends with "approved"."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from lincah import demo
from tests.support import run_stack

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"


async def test_demo_accounts_log_in_and_the_walkthrough_ends_approved(dev_env, settings):
    async with run_stack(dev_env, settings) as s:
        made = demo.create_accounts(settings)
        assert [a.login for a in made] == [a.login for a in demo.DEMO_ACCOUNTS]
        assert demo.create_accounts(settings) == []  # a second run finds them
        assert sorted(demo.seed(s.base, demo.DEMO_ADMIN)) == sorted(x["id"] for x in demo.SERVICES)

        script = demo.WALKTHROUGH.format(api=s.base, sample=json.dumps(demo.SAMPLE_APPLICATION))
        # The README's walk-through too, as written there, against this stack.
        blocks = [b.split("```", 1)[0] for b in README.read_text().split("```bash\n")[1:]]
        readme = next(b for b in blocks if b.startswith("API=http://127.0.0.1:8000\n"))
        assert "/auth/login" in readme and "dev-token" not in readme
        for walk in (script, readme.replace("http://127.0.0.1:8000", s.base)):
            last = await bash(walk)
            assert last["status"] == "approved", last
            assert last["citizen"].startswith("c-")  # the account, not a name in a token
            # Siti's seeded profile: NIK and name kept verified at the counter by Budi.
            assert last["provenance"]["nik"] == "verified-counter", last
            assert last["provenance"]["full_name"] == "verified-counter", last


async def bash(script: str) -> dict:
    """Run ``script``; its last line of output, as JSON. Not subprocess.run: the stack's
    worker runs on this event loop."""
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", script, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])
