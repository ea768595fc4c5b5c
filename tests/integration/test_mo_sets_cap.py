"""The cap on multi-part MO sets in progress (``max_mo_sets``), through the emulator over real
sockets: a part that would start one set too many is answered 0 like any other (the platform
takes no other deliver_sm_resp), and the account's oldest incomplete set goes to inbound
partial, counted in ``smppgate_mo_sets_evicted_total``."""

from __future__ import annotations

from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.emulator.deliveries import mo_pdus
from smppgate.pdu import CommandStatus
from smppgate.service.config import parse_config
from smppgate.service.metrics import Metrics
from smppgate.service.runtime import Gateway

from .test_crash_safety import _deliver
from .test_platform_rules import until

TEXT = "".join(f"part {i:03d} " for i in range(45))  # three parts of 153 septets


async def test_one_set_too_many_hands_the_oldest_over_partial(store_url: str) -> None:
    emulator = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),), accounts=(Account("demo", "demo"),)
    )
    first = mo_pdus(source="79001234567", destination="1234", text=TEXT, concatenated=True,
                    reference=1)  # fmt: skip
    second = mo_pdus(source="79001234568", destination="1234", text=TEXT, concatenated=True,
                     reference=2)  # fmt: skip
    async with Emulator(emulator) as emu:
        config = parse_config(
            {
                "store": {"url": store_url},
                "accounts": [
                    {
                        "name": "demo",
                        "profile": "devino-promo",
                        "hosts": [f"127.0.0.1:{emu.address[1]}"],
                        "system_id": "demo",
                        "password": "demo",
                        "sessions": ["trx"],
                        "max_mo_sets": 1,
                    }
                ],
                "shutdown_timeout": 2,
            },
            environ={},
        )
        metrics = Metrics()
        async with Gateway(config, poll_interval=0.02, metrics=metrics) as gw:
            await until(lambda: bool(emu.bound_sessions("demo")), 10)
            assert await _deliver(emu, first[:2]) == [CommandStatus.ESME_ROK] * 2
            assert await gw.store.list_inbound() == []
            # a second set while the first is in progress: answered 0, the first given up
            assert await _deliver(emu, second[:1]) == [CommandStatus.ESME_ROK]
            (evicted,) = await gw.store.list_inbound()
            assert evicted.source == "79001234567"
            assert evicted.parts_info.startswith("parts=3 status=evicted")
            assert evicted.text == TEXT[: 2 * 153]  # the two parts that came, nothing lost
            # the new set was kept and completes
            assert await _deliver(emu, second[1:]) == [CommandStatus.ESME_ROK] * 2
            texts = {m.source: m.text for m in await gw.store.list_inbound()}
            assert texts["79001234568"] == TEXT
        text = await metrics.render()
        assert 'smppgate_mo_sets_evicted_total{account="demo"} 1' in text
