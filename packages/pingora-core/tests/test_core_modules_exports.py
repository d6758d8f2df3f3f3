"""The public names of pingora_core.modules and pingora_core.modules.compression are locked."""

from __future__ import annotations

import pingora_core.modules
import pingora_core.modules.compression

MODULES_API = {
    "HOOK_NAMES",
    "Algorithm",
    "HttpModule",
    "HttpModuleBuilder",
    "HttpModuleCtx",
    "HttpModules",
    "ResponseCompression",
    "ResponseCompressionBuilder",
    "overridden_hooks",
}

COMPRESSION_API = {
    "COMPRESSION_ERROR",
    "AcceptEncoding",
    "Algorithm",
    "BrotliCompressor",
    "BrotliDecompressor",
    "Encoder",
    "EncoderInfo",
    "GzipCompressor",
    "GzipDecompressor",
    "ResponseCompression",
    "ResponseCompressionBuilder",
    "ResponseCompressionCtx",
    "ZstdCompressor",
    "parse_accept_encoding",
}


def test_modules_all_is_locked() -> None:
    assert set(pingora_core.modules.__all__) == MODULES_API
    assert len(pingora_core.modules.__all__) == len(MODULES_API)


def test_compression_all_is_locked() -> None:
    assert set(pingora_core.modules.compression.__all__) == COMPRESSION_API
    assert len(pingora_core.modules.compression.__all__) == len(COMPRESSION_API)


def test_public_names_resolve_and_come_from_private_modules() -> None:
    for package, names in (
        (pingora_core.modules, MODULES_API),
        (pingora_core.modules.compression, COMPRESSION_API),
    ):
        for name in names:
            value = getattr(package, name)
            module = getattr(value, "__module__", None)
            if isinstance(value, type) or callable(value):
                assert module is not None
                assert module.split(".")[-1].startswith("_"), (name, module)


def test_shared_names_are_the_same_objects() -> None:
    for name in MODULES_API & COMPRESSION_API:
        assert getattr(pingora_core.modules, name) is getattr(
            pingora_core.modules.compression, name
        )


def test_packages_say_what_they_are_for() -> None:
    assert pingora_core.modules.__doc__
    assert "module" in pingora_core.modules.__doc__
    assert pingora_core.modules.compression.__doc__
    assert "compression" in pingora_core.modules.compression.__doc__.lower()
