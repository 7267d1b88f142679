"""axe-core (Deque, MPL-2.0; installed by scripts/setup.sh from npm into the venv, a test tool,
never served) run inside a Playwright page: the serious and critical WCAG 2.1 A/AA violations."""

from __future__ import annotations

from typing import Any

from tests.conftest import ROOT

AXE = ROOT / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def violations(page: Any) -> list[str]:
    """``rule: target`` for every serious or critical violation on the page as it is now."""
    if not AXE.exists():
        raise RuntimeError(f"axe-core is not installed at {AXE}: `make test` installs it (scripts/setup.sh)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # from the page's own origin (the pages' Content-Security-Policy takes no inline script):
        # the browser asks for it, Playwright answers, the server never sees it
        origin = page.evaluate("location.origin")
        page.route(f"{origin}/__axe.js", lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
        page.add_script_tag(url=f"{origin}/__axe.js")
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [
        f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
