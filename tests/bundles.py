"""Test helper: a bundle saved as another model version."""

from __future__ import annotations


def relabelled_bundle(src, dst, tag: str) -> str:
    """The bundle ``src`` saved to ``dst`` as another model version (same boosters, ``tag`` in its config), as a
    re-train would give; returns the new version. (Editing the manifest's version is refused on load.)"""
    from dataclasses import replace

    from service.bundle import ModelBundle

    b = ModelBundle.load(src)
    b = replace(b, config={**b.config, "relabelled": tag}, model_version="")
    b.save(dst)
    return b.model_version
