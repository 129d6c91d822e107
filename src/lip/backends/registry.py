"""Kind -> factory; the only module that knows every backend kind (the codecs are in ``lip.protocols.registry``)."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from lip.backends.base import Backend
from lip.backends.http import HttpBackend
from lip.backends.local_stub import LocalStubBackend
from lip.config.load import BackendSpec
from lip.protocols.registry import load_codec


def build_backend(spec: BackendSpec, session: aiohttp.ClientSession, env: Mapping[str, str]) -> Backend:
    if spec.protocol == "local":
        return LocalStubBackend(spec)
    return HttpBackend(spec, load_codec(spec.protocol), session, env)


__all__ = ["build_backend", "load_codec"]
