"""The store's УТМ (ЕГАИС's transport module), over HTTP: a cheque posted as ``xml_file``
(multipart) to ``/xml``, ``?type=ChequeV3`` for the current form; its answer read by
``cheque.read_answer``. What the call's failure means for the sale is the caller's
(``sales.py``): refused (the УТМ said no), not sent (no connection: it never reached the УТМ),
or unknown (sent, no answer: the same cheque is sent again to learn its fate)."""

from __future__ import annotations

from typing import Literal

import httpx

from edge_agent.egais.cheque import Form, UtmAnswer, read_answer
from edge_agent.errors import EdgeError


class UtmDown(EdgeError):
    """No answer from the УТМ: ``not_sent`` (it never got the cheque) or ``unknown`` (it may have)."""

    def __init__(self, code: Literal["not_sent", "unknown"], message: str) -> None:
        super().__init__(code, message)


class UtmClient:
    def __init__(self, url: str, form: Form, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/") + "/xml"
        self.form = form
        self.client = httpx.AsyncClient(timeout=timeout_s)

    async def send(self, xml: bytes) -> UtmAnswer:
        params = {"type": "ChequeV3"} if self.form == "ChequeV3" else {}
        try:
            response = await self.client.post(
                self.url, params=params, files={"xml_file": ("cheque.xml", xml, "application/xml")}
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            raise UtmDown("not_sent", f"the УТМ does not answer at {self.url}: {e}") from None
        except httpx.HTTPError as e:
            raise UtmDown("unknown", f"the УТМ did not answer the cheque: {e}") from None
        if response.status_code >= 500:
            raise UtmDown("unknown", f"the УТМ answered HTTP {response.status_code}")
        return read_answer(response.content)

    async def aclose(self) -> None:
        await self.client.aclose()
