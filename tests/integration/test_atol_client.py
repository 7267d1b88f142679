"""The ATOL Web-server simulator as software nobody here wrote sees it: PyPI's ``atol-client``
(MIT, test-only), unmodified, runs a shift, the register's mark-code check, a marked sale, a
return, the device and FN queries and reports, and meets 409, 404 and a printer fault the way
its own code expects them. Also the server's own surface (``/``, ``serverInfo``, ``devices``,
the synchronous ``operations/query…``) and trailing slashes."""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

import pytest
from atol import client as atol_client
from atol import errors
from atol.client import WebClient

from tests.integration.kkt import KktThread

CODE = "0104610053149777215Ab1Cd2\x1d93dGVz"
IMC = base64.b64encode(CODE.encode()).decode()


def web_client(kkt: KktThread) -> WebClient:
    return WebClient(f"{kkt.url}/api/v2/requests", get_status_delay=0.02, get_status_timeout=10, log_fn=lambda *a: None)


def result(answer: list[dict[str, Any]]) -> dict[str, Any]:
    [task] = answer
    assert task["status"] == "ready", task
    return dict(task["result"])


def position(price: float, imc: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "position",
        "name": "Молоко 3,2 % 1 л",
        "price": price,
        "quantity": 1,
        "amount": price,
        "measurementUnit": "piece",
        "paymentMethod": "fullPayment",
        "paymentObject": "commodity",
        "tax": {"type": "vat10"},
    }
    if imc:
        item["imcParams"] = {
            "imcType": "auto",
            "imc": IMC,
            "itemEstimatedStatus": "itemPieceSold",
            "imcModeProcessing": 0,
        }
    return item


def test_atol_client_runs_a_day_of_a_lane_against_the_simulator() -> None:
    with KktThread() as kkt:
        c = web_client(kkt)
        opened = result(c.open_shift(operator={"name": "SCO-01"}))["fiscalParams"]
        assert opened["shiftNumber"] == 1 and opened["fiscalDocumentNumber"] == 1
        assert result(c.get_shift_status())["shiftStatus"]["state"] == "opened"
        # the register's own mark-code check, through the client's generic task call
        assert "sentImcRequest" in result(c._call("beginMarkingCodeValidation", params={"imcType": "auto", "imc": IMC}))
        status: dict[str, Any] = {"ready": False}
        while not status["ready"]:
            status = result(c._call("getMarkingCodeValidationStatus"))
        assert status["onlineValidation"]["markOperatorItemStatus"] == "itemEstimatedStatusCorrect"
        result(c._call("acceptMarkingCode"))
        payments = [{"type": "electronically", "sum": 89.9}]
        sold = result(c.sell(items=[position(89.9, True)], payments=payments, taxationType="osn"))["fiscalParams"]
        assert sold["fiscalReceiptNumber"] == 1 and sold["fnNumber"] and sold["fiscalDocumentSign"]
        back = result(c.sell_return(items=[position(89.9, False)], payments=payments))["fiscalParams"]
        assert back["fiscalDocumentNumber"] == sold["fiscalDocumentNumber"] + 1
        # what the client asks of a device besides receipts
        assert result(c.get_device_info())["deviceInfo"]["ffdVersion"] == "1.2"
        assert result(c.get_fn_info())["fnInfo"]["serial"] == sold["fnNumber"]
        assert result(c.get_registration_info())["device"]["registrationNumber"] == sold["registrationNumber"]
        assert result(c.get_device_status())["deviceStatus"]["paperPresent"] is True
        assert result(c.ofd_exchange_status())["status"]["notSentCount"] == 0
        result(c.report_x())
        result(c.continue_print())
        result(c._call("printLastReceiptCopy"))
        closed = result(c.close_shift())["fiscalParams"]
        assert closed["fiscalDocumentNumber"] == back["fiscalDocumentNumber"] + 1
        assert [r["kind"] for r in kkt.receipts()] == ["sell", "sellReturn"]


def test_atol_client_meets_409_404_and_a_printer_fault_as_it_expects(monkeypatch: pytest.MonkeyPatch) -> None:
    with KktThread() as kkt:
        c = web_client(kkt)
        with pytest.raises(errors.TaskNotFound):
            c._get_task_status("0" * 32)  # a uuid the server never saw: 404
        fixed = type("FixedUuid", (), {"hex": "1" * 32})
        monkeypatch.setattr(atol_client, "uuid4", fixed)  # the client's next two tasks share a uuid
        result(c.open_shift())
        with pytest.raises(errors.TaskIdCollision):  # the same uuid again: 409
            c.get_shift_status()
        monkeypatch.undo()
        kkt.call(lambda d: setattr(d, "paper", False))
        with pytest.raises(errors.TaskError) as fault:
            c.report_x()
        assert fault.value.args[0][0]["error"]["code"] == 44  # out of paper, as ATOL numbers it


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def test_the_servers_own_surface_and_trailing_slashes() -> None:
    with KktThread() as kkt:
        base = kkt.url
        assert get(f"{base}/")["api"] == "/api/v2"
        assert get(f"{base}/api/v2/serverInfo")["version"]
        [device] = get(f"{base}/api/v2/devices/")["devices"]
        assert device["deviceID"] == "default" and device["isDefault"] is True
        assert get(f"{base}/api/v2/operations/queryShiftStatus")["shiftStatus"]["state"] == "closed"
        assert get(f"{base}/api/v2/operations/queryFnStatus/")["fnInfo"]["serial"] == device["fnSerial"]
        assert get(f"{base}/api/v2/operations/queryDeviceInfo")["deviceInfo"]["modelName"]
        assert get(f"{base}/api/v2/operations/queryOfdExchangeStatus")["status"]["notSentCount"] == 0
        c = WebClient(f"{base}/api/v2/requests/", get_status_delay=0.02, log_fn=lambda *a: None)
        assert c.get_shift_status()[0]["status"] == "ready"  # "/requests/" + "/{uuid}" both resolve
