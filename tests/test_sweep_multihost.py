"""The multi-host path, exercised: two processes on localhost (`jax.distributed`, gloo CPU
collectives, two virtual CPU devices each) run a sweep with `out=DIR` that equals the
single-process run (outcomes, steps, times exactly; states to 1e-12, see
`test_sweep_store._close`); only process 0 writes; both killed, a two-process resume
completes with the same results."""

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np

import gdgan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKER = textwrap.dedent("""
    import os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize("localhost:{port}", num_processes=2, process_id={pid})
    assert jax.process_count() == 2 and len(jax.devices()) == 4
    sys.path.insert(0, {tests!r})
    from test_sweep_store import small
    import gdgan._sweep._store as store
    written = []
    real = store._write_bytes
    store._write_bytes = lambda path, *a, **k: (written.append(path), real(path, *a, **k))[1]
    small(out={out!r}, chunk_size=3, resume={resume})
    print("WROTE", len(written))
""")


def _port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _pair(out, resume, fault=None):
    port = _port()
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "GDGAN_SWEEP_FAULT")}
    # processes that may be killed keep their compiled programs to themselves: a torn entry
    # in the shared persistent cache would crash whichever test reads it next
    env["JAX_COMPILATION_CACHE_DIR"] = os.path.join(os.path.dirname(str(out)), "jax-cache")
    procs = []
    for pid in (0, 1):
        e = dict(env)
        if fault:
            e["GDGAN_SWEEP_FAULT"] = fault
        script = WORKER.format(
            port=port, pid=pid, tests=os.path.join(ROOT, "tests"), out=out, resume=resume
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", script],
                env=e,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    import time

    deadline = time.monotonic() + 600
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        if any(p.returncode == -9 for p in procs):  # one was killed: the other goes too
            for p in procs:
                if p.poll() is None:
                    p.kill()
        time.sleep(0.2)
    outs = []
    for p in procs:
        if p.poll() is None:
            p.kill()
        o, err = p.communicate()
        outs.append((p.returncode, o, err))
    return outs


def test_two_processes_equal_one_and_resume(tmp_path):
    from test_sweep_store import _close, small

    single = small(chunk_size=3)
    out = str(tmp_path / "two")
    (rc0, o0, e0), (rc1, o1, e1) = _pair(out, False)
    assert rc0 == 0 and rc1 == 0, (e0[-2000:], e1[-2000:])
    assert "WROTE 0" not in o0 and "WROTE 0" in o1  # only process 0 writes
    _close(gdgan.SweepResult.load(os.path.join(out, "results.npz")), single)

    # kill: process 0 dies with SIGKILL after its first chunk; process 1 is then killed too
    out2 = str(tmp_path / "killed")
    res = _pair(out2, False, fault="after-manifest:0")
    assert res[0][0] == -9
    assert not os.path.exists(os.path.join(out2, "results.npz"))
    (rc0, _, e0), (rc1, _, e1) = _pair(out2, True)
    assert rc0 == 0 and rc1 == 0, (e0[-2000:], e1[-2000:])
    got = gdgan.SweepResult.load(os.path.join(out2, "results.npz"))
    _close(got, single)
    assert np.all(got.outcome >= 0)
