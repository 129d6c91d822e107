"""The JSON Schema of the configuration file, generated from the pydantic models (``lip schema``), so it never
drifts from what lip accepts. A backend row's ``config`` is described by ``BackendSettings``, which the loader
validates it against."""

from __future__ import annotations

from typing import Any

from lip.config.models import BackendSettings, Config

SCHEMA_ID = "https://lip.invalid/config.schema.json"  # a name, not a location: editors read the file itself


def config_schema() -> dict[str, Any]:
    schema = Config.model_json_schema(mode="validation")
    settings = BackendSettings.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    defs.update(settings.pop("$defs", {}))
    defs["BackendSettings"] = settings
    row = defs["BackendRow"]["properties"]
    row["config"] = {"$ref": "#/$defs/BackendSettings", "description": "The backend's settings (by kind)."}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
