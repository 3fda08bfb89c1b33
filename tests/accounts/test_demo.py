"""`lincah demo` in development: real accounts (through the registry's commands), the
services seeded by the demo administrator's login, and the printed curl walk-through,
run as printed, logs in and ends with "approved"."""

from __future__ import annotations

import asyncio
import json

import pytest

from lincah import demo
from tests.support import run_stack

pytestmark = pytest.mark.e2e


async def test_demo_accounts_log_in_and_the_walkthrough_ends_approved(dev_env, settings):
    async with run_stack(dev_env, settings) as s:
        made = demo.create_accounts(settings)
        assert [a.login for a in made] == [a.login for a in demo.DEMO_ACCOUNTS]
        assert demo.create_accounts(settings) == []  # a second run finds them
        assert sorted(demo.seed(s.base, demo.DEMO_ADMIN)) == sorted(x["id"] for x in demo.SERVICES)

        script = demo.WALKTHROUGH.format(api=s.base, sample=json.dumps(demo.SAMPLE_APPLICATION))
        # Not subprocess.run: the stack's worker runs on this event loop.
        proc = await asyncio.create_subprocess_exec(
            "bash", "-c", script, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
        last = json.loads(out.decode().strip().splitlines()[-1])
        assert last["status"] == "approved", out.decode()
        assert last["citizen"].startswith("c-")  # the account, no longer a name in a token
