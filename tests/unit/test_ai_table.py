"""The AI table is the GS1 Barcode Syntax Dictionary's, generated, and up to date."""

from __future__ import annotations

import subprocess
import sys

from edge_agent.codes.ai_table import AI_TABLE
from edge_agent.codes.gs1 import FIXED_AIS, PREDEFINED, VARIABLE_AIS, needs_separator
from tests.conftest import ROOT


def test_the_generated_table_matches_the_dictionary_in_the_repo() -> None:
    proc = subprocess.run(
        [sys.executable, "scripts/gen_ai_table.py", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout
    assert (ROOT / "edge_agent" / "codes" / "data" / "LICENSE-gs1-syntax-dictionary").exists()


def test_the_table_says_what_gs1_says() -> None:
    assert AI_TABLE["01"][:4] == (False, 14, 14, "N") and AI_TABLE["21"][:4] == (True, 1, 20, "X")
    assert AI_TABLE["8005"][:4] == (True, 6, 6, "N") and AI_TABLE["7003"][:4] == (True, 10, 10, "N")
    assert AI_TABLE["253"][1:3] == (13, 30)  # an optional component: 13 to 13 + 17
    assert AI_TABLE["01"][4] == (("22", "10", "21"), ("235",))  # Digital Link: its qualifiers
    # the predefined-length AIs of GS1 General Specifications table 7.8.8-1
    assert {"00", "01", "02", "11", "17", "20", "3103", "410", "417"} <= PREDEFINED
    assert not {"21", "10", "8005", "7003", "91", "93"} & PREDEFINED
    assert FIXED_AIS["8005"] == 6 and VARIABLE_AIS["93"] == 90 and needs_separator("8005")
    assert len(AI_TABLE) > 500
