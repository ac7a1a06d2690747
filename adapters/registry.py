"""The back-ends the gateway knows: how to build each adapter, and each simulator for the embedded default.

Adding a back-end means one entry here (plus its folder); the worker and ``gateway serve`` take
everything else from this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.kanta.adapter import KantaAdapter
from adapters.kanta.simulator import create_simulator as kanta_simulator
from adapters.kela.adapter import KelaAdapter
from adapters.kela.simulator import create_simulator as kela_simulator
from adapters.lifecare.adapter import LifecareAdapter
from adapters.lifecare.simulator import create_simulator as lifecare_simulator
from gateway.errors import ConfigurationError
from gateway.mappings import load_mappings
from gateway.outbox.adapter import Adapter
from gateway.settings import GatewaySettings


@dataclass(frozen=True, slots=True)
class BackendSpec:
    name: str
    title: str
    mount: str  # where ``gateway serve`` mounts the simulator
    endpoint_suffix: str  # what the adapter is pointed at, below the mount
    configured_url: Callable[[GatewaySettings], str | None]
    enabled: Callable[[GatewaySettings], bool]
    build: Callable[[GatewaySettings, str], Adapter]
    # The simulated back-end, built from the same settings as the adapter that will talk to it.
    simulator: Callable[[GatewaySettings], Any]
    setting_name: str


BACKENDS: tuple[BackendSpec, ...] = (
    BackendSpec(
        name="lifecare",
        title="Lifecare (patient register, FHIR R4)",
        mount="/simulators/lifecare/fhir",
        endpoint_suffix="",
        configured_url=lambda s: s.lifecare.base_url,
        enabled=lambda s: s.lifecare.enabled,
        build=lambda s, url: LifecareAdapter(s.lifecare, base_url=url),
        simulator=lambda s: lifecare_simulator(),
        setting_name="GATEWAY_LIFECARE__BASE_URL",
    ),
    BackendSpec(
        name="kanta",
        title="Kanta (social care client register archive, SOAP)",
        mount="/simulators/kanta",
        endpoint_suffix="/wsdl",
        configured_url=lambda s: s.kanta.wsdl_url,
        enabled=lambda s: s.kanta.enabled,
        build=lambda s, url: KantaAdapter(s.kanta, wsdl_url=url),
        simulator=lambda s: kanta_simulator(s.kanta),
        setting_name="GATEWAY_KANTA__WSDL_URL",
    ),
    BackendSpec(
        name="kela",
        title="Kela (Y100 consent and phone-appointment booking over X-Road; a modelled interface)",
        mount="/simulators/kela",
        endpoint_suffix="/wsdl",
        configured_url=lambda s: s.kela.wsdl_url,
        enabled=lambda s: s.kela.enabled,
        build=lambda s, url: KelaAdapter(s.kela, wsdl_url=url),
        simulator=lambda s: kela_simulator(topics=load_mappings(s.mappings_dir).kela.topics),
        setting_name="GATEWAY_KELA__WSDL_URL",
    ),
)


def backend(name: str) -> BackendSpec:
    for spec in BACKENDS:
        if spec.name == name:
            return spec
    raise ConfigurationError(f"unknown back-end {name!r}; known: {', '.join(b.name for b in BACKENDS)}")


def endpoints(settings: GatewaySettings, *, simulators_base: str | None) -> dict[str, str]:
    """The URL each enabled adapter talks to: configured, or the embedded simulator's."""
    urls: dict[str, str] = {}
    for spec in BACKENDS:
        if not spec.enabled(settings):
            continue
        url = spec.configured_url(settings)
        if url is None:
            if simulators_base is None:
                disable = f"GATEWAY_{spec.name.upper()}__ENABLED=false"
                raise ConfigurationError(f"{spec.title}: set {spec.setting_name} (or disable it with {disable})")
            url = simulators_base.rstrip("/") + spec.mount + spec.endpoint_suffix
        urls[spec.name] = url
    return urls


def configured_endpoints(settings: GatewaySettings) -> dict[str, str]:
    """The URLs configured for enabled back-ends (no simulators): what a separate API process can reach."""
    return {spec.name: url for spec in BACKENDS if spec.enabled(settings) and (url := spec.configured_url(settings))}


def build_adapters(settings: GatewaySettings, urls: dict[str, str]) -> dict[str, Adapter]:
    return {spec.name: spec.build(settings, urls[spec.name]) for spec in BACKENDS if spec.name in urls}
