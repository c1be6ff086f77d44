"""The offline I2P test bed: its safety interlock and config (everywhere), its real routers (integration)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mule.i2p import testbed
from mule.i2p.errors import SamError
from mule.i2p.session import SessionSpec
from mule.node.config import SamAddress

sys.path.insert(0, str(Path(__file__).parents[1] / "i2p"))  # the scripted SAM bridge of the SAM client's tests
from fake_bridge import FakeBridge

# --- everywhere: no i2pd, no namespace needed ----------------------------------------------------------------


def test_loopback_only_means_lo_and_nothing_else() -> None:
    assert testbed.is_loopback_only(lambda: ["lo"])
    assert not testbed.is_loopback_only(lambda: ["eth0", "lo"])
    assert not testbed.is_loopback_only(lambda: [])


def test_interlock_refuses_when_other_interfaces_exist() -> None:
    with pytest.raises(testbed.NotIsolatedError, match="unshare -n"):
        testbed.require_loopback_only(check=lambda: False)
    testbed.require_loopback_only(check=lambda: True)  # negative control: the same call passes when isolated


def test_bed_starts_no_router_outside_a_loopback_only_namespace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(testbed, "i2pd_binary", lambda: "/nonexistent/i2pd")
    monkeypatch.setattr(testbed, "is_loopback_only", lambda: False)
    bed = testbed.Testbed(testbed.BedOptions(routers=2), root=tmp_path)
    with pytest.raises(testbed.NotIsolatedError):
        bed.start()
    with pytest.raises(testbed.NotIsolatedError):
        bed.routers[0].start()
    assert all(router.process is None for router in bed.routers)
    assert not any(tmp_path.iterdir()), "nothing is even written before the interlock passes"


def test_bed_refuses_ports_someone_else_holds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(testbed, "i2pd_binary", lambda: "/nonexistent/i2pd")
    bed = testbed.Testbed(testbed.BedOptions(), root=tmp_path)
    monkeypatch.setattr(testbed, "require_loopback_only", lambda: None)
    monkeypatch.setattr(testbed, "_answers", lambda address: address.port == testbed.FIRST_SAM_PORT)
    with pytest.raises(testbed.TestbedError, match=r"127\.0\.0\.1:7656 is taken"):
        bed.start()
    assert bed.routers[0].process is None


def test_slots_never_share_ports_or_addresses(tmp_path: Path) -> None:
    taken = [
        (spec.sam_port, spec.sam_port - 1, spec.transport_host, spec.transport_port)
        for slot in (0, 1)
        for spec in testbed.router_specs(tmp_path, testbed.BedOptions(routers=3, slot=slot))
    ]
    assert len({port for entry in taken for port in entry[:2]}) == 2 * len(taken)
    assert len({entry[2:] for entry in taken}) == len(taken)


def test_isolated_command_runs_the_argv_in_a_new_network_namespace() -> None:
    command = testbed.isolated_command(["python", "-m", "pytest", "-k", "a b"])
    assert command[0] == "unshare" and "-n" in command[: command.index("sh")]
    assert command[-5:] == ["python", "-m", "pytest", "-k", "a b"], "argv passes through unquoted"


def test_config_keeps_every_router_inside_the_bed(tmp_path: Path) -> None:
    options = testbed.BedOptions(routers=3)
    specs = testbed.router_specs(tmp_path, options)
    configs = [testbed.render_config(spec, options) for spec in specs]
    for spec, config in zip(specs, configs, strict=True):
        settings = {line.partition("=")[0].strip(): line.partition("=")[2].strip() for line in config.splitlines()}
        assert settings["host"] == spec.transport_host and spec.transport_host.startswith("198.18.")
        assert settings["netid"] != "2"
        assert settings["urls"] == "http://127.0.0.1:1/" and settings["threshold"] == "0"
        assert settings["reservedrange"] == "false" and settings["floodfill"] == "true"
        assert "[upnp]\nenabled = false" in config and "[nettime]\nenabled = false" in config
        assert "defaulturl =\nsubscriptions =\n" in config, "the address book has nothing to fetch"
        assert f"[sam]\nenabled = true\naddress = 127.0.0.1\nport = {spec.sam_port}" in config
    assert len({spec.sam_port for spec in specs}) == 3 and len({spec.transport_host for spec in specs}) == 3


def test_recipe_sessions_use_the_original_leaseset_and_hops_the_bed_can_build() -> None:
    one = testbed.BedOptions(routers=1).session_options
    three = testbed.BedOptions(routers=3).session_options
    assert one["i2cp.leaseSetType"] == three["i2cp.leaseSetType"] == "1"
    assert one["inbound.length"] == one["outbound.length"] == "0"
    assert three["inbound.length"] == three["outbound.length"] == "1"


def _router_info(signature_len: int = 64) -> bytes:
    key_cert = bytes([5]) + (4).to_bytes(2, "big") + (7).to_bytes(2, "big") + (4).to_bytes(2, "big")
    identity = bytes(range(256)) + bytes(128) + key_cert
    options = b"\x04host=\x0b198.18.0.1;"
    address = b"\x0a" + bytes(8) + b"\x05NTCP2" + len(options).to_bytes(2, "big") + options
    caps = b"\x04caps=\x02Rf;"
    body = bytes(8) + b"\x01" + address + b"\x00" + len(caps).to_bytes(2, "big") + caps
    return identity + body + bytes(signature_len)


def test_router_info_completeness_and_hash() -> None:
    info = _router_info()
    assert testbed.router_info_complete(info)
    assert not testbed.router_info_complete(info[:-1]), "cut short while i2pd was writing it"
    assert not testbed.router_info_complete(info + b"\x00")
    expected = base64.b64encode(hashlib.sha256(info[:391]).digest(), altchars=b"-~").decode()
    assert testbed.router_hash_b64(info) == expected


def test_seed_netdb_files_the_peer_under_its_hash(tmp_path: Path) -> None:
    info = _router_info()
    testbed.seed_netdb(tmp_path, info)
    b64 = testbed.router_hash_b64(info)
    assert (tmp_path / "netDb" / f"r{b64[0]}" / f"routerInfo-{b64}.dat").read_bytes() == info


def _on_fake_bridge(monkeypatch: pytest.MonkeyPatch, bridge: FakeBridge) -> SamAddress:
    """The probe's sessions on ``bridge``, whose UDP port is not i2pd's SAM port - 1."""
    monkeypatch.setattr(testbed, "SessionSpec", functools.partial(SessionSpec, udp_port=bridge.udp_port))
    return SamAddress("127.0.0.1", bridge.port)


def test_probe_hails_both_ways_and_ends_its_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> tuple[testbed.ProbeResult, list[str], int]:
        bridge = await FakeBridge().start()
        try:
            address = _on_fake_bridge(monkeypatch, bridge)
            result = await testbed.probe_delivery(address, address, interval=0.01)
            await asyncio.sleep(0.05)  # the bridge sees the control connections close
            return result, bridge.commands, len(bridge.sessions)
        finally:
            await bridge.stop()

    result, commands, sessions_left = asyncio.run(scenario())
    assert result.delivered and result.first_datagram_s is not None and result.both_ways_s is not None
    assert (result.burst_sent, result.burst_received) == (0, (0, 0))
    creates = [line for line in commands if line.startswith("SESSION CREATE")]
    assert len(creates) == 2 and all("PORT=" in line and "i2cp.leaseSetType=1" in line for line in creates)
    assert sessions_left == 0, "both probe sessions are closed afterwards"


def test_probe_closes_the_session_it_made_when_the_other_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> tuple[list[str], int]:
        bridge = await FakeBridge().start()
        try:
            address = _on_fake_bridge(monkeypatch, bridge)
            bridge.play("SESSION", "CREATE", b"SESSION STATUS RESULT=I2P_ERROR\n", hang_up=True)
            with pytest.raises(SamError, match="I2P_ERROR"):
                await testbed.probe_delivery(address, address, timeout=1.0)
            await asyncio.sleep(0.05)
            return bridge.commands, len(bridge.sessions)
        finally:
            await bridge.stop()

    commands, sessions_left = asyncio.run(scenario())
    assert len([line for line in commands if line.startswith("SESSION CREATE")]) == 2
    assert sessions_left == 0, "the session that was created is closed again"


# --- integration: real i2pd in a loopback-only namespace ---------------------------------------------------


@pytest.mark.integration
def test_router_runs_offline_with_nothing_but_loopback(i2p_router: testbed.Router) -> None:
    assert testbed.network_interfaces() == ["lo"]
    routes = subprocess.run(["ip", "-o", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    assert "default" not in routes
    assert i2p_router.running


@pytest.mark.integration
def test_sam_answers_hello(i2p_router: testbed.Router) -> None:
    assert testbed.sam_hello(i2p_router.sam_host, i2p_router.sam_port).startswith("3.")


@pytest.mark.integration
def test_sam_refuses_garbage_and_stays_up(i2p_router: testbed.Router) -> None:
    with socket.create_connection((i2p_router.sam_host, i2p_router.sam_port), 5) as sock:
        sock.sendall(b"NOT A SAM COMMAND\n")
        sock.settimeout(5)
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            sock.recv(4096)  # i2pd answers or just closes; either way the bridge must survive it
    assert testbed.sam_hello(i2p_router.sam_host, i2p_router.sam_port).startswith("3.")


@pytest.mark.integration
def test_restart_keeps_the_router_identity_and_sam_comes_back(i2p_router: testbed.Router) -> None:
    identity = i2p_router.spec.router_info.read_bytes()[:391]
    # restarted from a worker thread that then ends (as async tests do): the router must outlive it
    asyncio.run(asyncio.to_thread(i2p_router.restart))
    time.sleep(0.5)
    assert i2p_router.running
    assert testbed.sam_hello(i2p_router.sam_host, i2p_router.sam_port).startswith("3.")
    assert i2p_router.spec.router_info.read_bytes()[:391] == identity


@pytest.mark.integration
def test_datagrams_delivered_both_ways(delivery_available: testbed.DeliveryCheck) -> None:
    """The recipe's claim: two DSA-SHA1 DATAGRAM sessions exchange datagrams offline, none lost."""
    assert delivery_available, delivery_available.reason
    result = delivery_available.result
    assert result is not None
    assert result.burst_received == (result.burst_sent, result.burst_sent)
