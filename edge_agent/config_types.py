"""The building blocks of configuration sections, shared by ``config.py`` and the families that
declare their own keys (reader drivers, check services): a section refuses keys it does not know
and cannot be changed once loaded."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Port = Annotated[int, Field(ge=1, le=65535)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Url = Annotated[str, Field(pattern=r"^https?://[^/\s]+")]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
